-- Schema version 1 -> 2: local users and login sessions (HTTP API and console).

-- A person who logs in to the console or API.
CREATE TABLE user_account (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  -- argon2id PHC string. Never returned by any API, never logged.
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'operator')),
  created_90k INTEGER NOT NULL,
  disabled_90k INTEGER
);

-- A logged-in browser or API client.
CREATE TABLE login_session (
  -- SHA-256 of the session token; the token itself lives only in the client's
  -- HttpOnly cookie, so a copy of this database yields no usable session.
  token_hash BLOB PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES user_account (id),
  -- Sent back by the client in X-CSRF-Token on every state-changing request.
  csrf_token TEXT NOT NULL,
  created_90k INTEGER NOT NULL,
  expires_90k INTEGER NOT NULL,
  -- The client address at login.
  peer TEXT
);
CREATE INDEX login_session_user ON login_session (user_id);
