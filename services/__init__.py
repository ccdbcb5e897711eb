"""The app's services: the one shared model (`services.model`) and every result cache (`services.cache`)."""
