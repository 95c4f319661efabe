-- Schema version 9 -> 10: an optional TOTP second factor per user (RFC 6238). The
-- secret is needed to check codes, so it is stored as is; never returned by the API,
-- never logged.
ALTER TABLE user_account ADD COLUMN totp_secret BLOB;
