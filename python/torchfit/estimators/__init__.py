"""The estimators behind one protocol (:mod:`.protocol`), in one registry (:mod:`.registry`)."""
