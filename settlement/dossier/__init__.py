"""The geschillencommissie's dossier: why each euro of a client's month landed where it did."""
