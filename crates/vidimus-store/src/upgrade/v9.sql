-- Schema version 8 -> 9: lawful access (Art. 24(3), 33-35). Organisations with a kind
-- and a jurisdiction, users' organisations and work IDs, the cameras' system, region
-- and industry, access requests (persons, approvals, attachments, status history)
-- and the grants they become. Access register entries are leaves of the integrity log
-- (kind 'access'), so they are tamper-evident; they are not copied here.

-- Who a user works for. Kinds: see vidimus-access `OrgKind`.
CREATE TABLE organisation (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('system_manager', 'public_security', 'state_security',
    'state_organ', 'data_department', 'interested_party', 'testing_body', 'contractor')),
  -- Jurisdiction of a state organ (Art. 33 ¶3), JSON arrays of names.
  regions TEXT NOT NULL DEFAULT '[]',
  industries TEXT NOT NULL DEFAULT '[]',
  created_90k INTEGER NOT NULL
);

-- The site's own organisation, the system manager; users made before this version
-- belong to it.
INSERT INTO organisation (id, name, kind, created_90k)
  VALUES (1, 'system manager', 'system_manager', 0);

ALTER TABLE user_account ADD COLUMN org_id INTEGER NOT NULL DEFAULT 1 REFERENCES organisation (id);
-- Work ID (state organs, Art. 34(2)) or identity document number (interested
-- parties, Art. 35 ¶2).
ALTER TABLE user_account ADD COLUMN work_id TEXT;

ALTER TABLE camera ADD COLUMN system TEXT;
ALTER TABLE camera ADD COLUMN region TEXT;
ALTER TABLE camera ADD COLUMN industry TEXT;

-- A request to view or reproduce video. Kinds: see vidimus-access `RequestKind`.
CREATE TABLE access_request (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  org_id INTEGER NOT NULL REFERENCES organisation (id),
  purpose TEXT NOT NULL,
  -- JSON array of camera ids; empty means every camera, present and future (only
  -- for the system manager's own staff, 'system_operation').
  cameras TEXT NOT NULL,
  -- The recorded range asked for, and whether live viewing is asked for.
  from_90k INTEGER NOT NULL,
  to_90k INTEGER NOT NULL,
  live INTEGER NOT NULL,
  -- JSON array of 'view_live', 'view_recorded', 'reproduce'.
  actions TEXT NOT NULL,
  -- When the grant would expire.
  expires_90k INTEGER NOT NULL,
  created_by INTEGER NOT NULL REFERENCES user_account (id),
  created_90k INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'refused', 'withdrawn'))
);

-- The persons acting (Art. 34(1): at least two for state organs), each confirming
-- with their own credentials.
CREATE TABLE request_person (
  request_id INTEGER NOT NULL REFERENCES access_request (id),
  user_id INTEGER NOT NULL REFERENCES user_account (id),
  work_id TEXT,
  confirmed_90k INTEGER,
  PRIMARY KEY (request_id, user_id)
);

-- Approvals given (Art. 33 ¶3, 35): kind, by whom, when.
CREATE TABLE request_approval (
  id INTEGER PRIMARY KEY,
  request_id INTEGER NOT NULL REFERENCES access_request (id),
  kind TEXT NOT NULL,
  user_id INTEGER NOT NULL REFERENCES user_account (id),
  at_90k INTEGER NOT NULL,
  note TEXT
);

-- Documents attached to a request (warrants, letters), kept with their SHA-256.
CREATE TABLE request_attachment (
  id INTEGER PRIMARY KEY,
  request_id INTEGER NOT NULL REFERENCES access_request (id),
  name TEXT NOT NULL,
  sha256 BLOB NOT NULL,
  data BLOB NOT NULL,
  user_id INTEGER NOT NULL REFERENCES user_account (id),
  at_90k INTEGER NOT NULL
);

-- Every change of a request: filed, person confirmed, approved, granted, refused,
-- revoked, with who and when.
CREATE TABLE request_event (
  id INTEGER PRIMARY KEY,
  request_id INTEGER NOT NULL REFERENCES access_request (id),
  at_90k INTEGER NOT NULL,
  user_id INTEGER REFERENCES user_account (id),
  event TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX request_event_request ON request_event (request_id);

-- A granted request: scoped by it, expiring, revocable.
CREATE TABLE access_grant (
  id INTEGER PRIMARY KEY,
  request_id INTEGER NOT NULL UNIQUE REFERENCES access_request (id),
  created_90k INTEGER NOT NULL,
  expires_90k INTEGER NOT NULL,
  revoked_90k INTEGER,
  revoked_by INTEGER REFERENCES user_account (id)
);

-- Register entries are searched by time.
CREATE INDEX log_leaf_kind_time ON log_leaf (kind, at_90k);
