"""The web face: the HTTP API and the Vietnamese dashboard (`thuocdo serve`)."""
