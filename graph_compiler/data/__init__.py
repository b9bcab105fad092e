"""Data that does not ship with Netwright: downloads verified by sha256 into a per-user
cache (`fetch`), the standard datasets served that way (`standard`), and the user's own
remote files (`remote`)."""
