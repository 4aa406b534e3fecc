"""The wallboard (大屏): a static page polling /api/wallboard, served by the bridge."""
