-- Schema version 2 -> 3: a camera's optional live sub-stream.

-- RTSP URL (without credentials; the camera's user name and password apply) of a
-- stream used only for live viewing, e.g. an H.264 sub-stream beside an H.265 main
-- stream that browsers cannot decode. Never recorded.
ALTER TABLE camera ADD COLUMN live_url TEXT;
