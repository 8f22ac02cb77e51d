"""The two client edges: Socket.IO and the plain WebSocket JSON protocol."""
