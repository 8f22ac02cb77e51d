"""Reference servers the gateway is measured against, each as small as it can be."""
