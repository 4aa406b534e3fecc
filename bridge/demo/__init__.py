"""`hotline-bridge demo`: two emulated PBXs, a Redis, the bridge and planned traffic, shown live."""
