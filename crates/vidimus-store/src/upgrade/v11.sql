-- Schema version 10 -> 11: the registry (Art. 8-28, 36) the compliance engine reads.
-- Entries are kept as JSON documents in the compliance facts format
-- (docs/compliance/facts.schema.json), so the rulebook can grow without a schema
-- change; the columns beside them are what lists and filters need. Every change is
-- also an event of the system log.

-- A system (or a site of Art. 9 para. 1 that must have one).
CREATE TABLE registry_system (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  district TEXT,
  site_category TEXT NOT NULL,
  -- The facts' `system` object.
  doc TEXT NOT NULL,
  created_90k INTEGER NOT NULL,
  updated_90k INTEGER NOT NULL
);

-- Cameras, products, contractors, testing bodies, documents and persons of a system.
CREATE TABLE registry_entry (
  id INTEGER PRIMARY KEY,
  system_id TEXT NOT NULL REFERENCES registry_system (id),
  collection TEXT NOT NULL CHECK (collection IN ('cameras', 'products', 'contractors',
    'testing_bodies', 'documents', 'persons')),
  doc TEXT NOT NULL,
  created_90k INTEGER NOT NULL,
  updated_90k INTEGER NOT NULL
);
CREATE INDEX registry_entry_system ON registry_entry (system_id, collection, id);

-- Dated events (completion acceptance, filing, testing reports, moves, assessments,
-- training, incidents, inspections, correction notices, ...). Append-only: a mistake
-- is corrected by a later event, never by editing history.
CREATE TABLE registry_event (
  id INTEGER PRIMARY KEY,
  system_id TEXT NOT NULL REFERENCES registry_system (id),
  kind TEXT NOT NULL,
  -- The local calendar day it happened (YYYY-MM-DD).
  date TEXT NOT NULL,
  doc TEXT NOT NULL,
  recorded_by TEXT NOT NULL,
  recorded_90k INTEGER NOT NULL
);
CREATE INDEX registry_event_system ON registry_event (system_id, date, id);
