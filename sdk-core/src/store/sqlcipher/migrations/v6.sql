-- Schema version 6: settings kept with the profile, encrypted like everything else: the
-- network settings the client last ran with, and the app's own settings, by name.
CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;
