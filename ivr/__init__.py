"""Call flows that run over AGI: menus and the feature-code flows."""
