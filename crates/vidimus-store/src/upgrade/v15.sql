-- Schema version 14 -> 15: the language a session's user chose in the console
-- (`en`, `zh-CN`); NULL: the browser's Accept-Language decides.
ALTER TABLE login_session ADD COLUMN lang TEXT;
