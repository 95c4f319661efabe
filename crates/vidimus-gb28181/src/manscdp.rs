//! MANSCDP (GB/T 28181-2016 §A, 2022 §A): the XML bodies of `MESSAGE` requests —
//! queries, their responses, notifications — as typed values, read and written.
//!
//! The commands a lower platform and a device answer or send: `Keepalive`, `Catalog`,
//! `DeviceInfo`, `DeviceStatus`, `RecordInfo` and the end-of-file `MediaStatus`
//! (NotifyType 121). Anything else parses as [`Command::Other`], for the caller to
//! answer as not supported. Times are [`GbTime`]: GB/T 28181 writes local times without
//! an offset; one with an offset is kept as the instant it names, never re-read as
//! local.

use jiff::{Timestamp, civil, tz::TimeZone};

use crate::xml::{self, Charset, Element, XmlError};

/// What is wrong with a MANSCDP body.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManscdpError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("root element <{0}> is none of Query, Response, Notify, Control")]
    Root(String),
    #[error("<{0}> missing")]
    Missing(&'static str),
    #[error("<{field}> {value:?} is not {what}")]
    Value {
        field: &'static str,
        value: String,
        what: &'static str,
    },
}

fn bad(field: &'static str, value: &str, what: &'static str) -> ManscdpError {
    ManscdpError::Value {
        field,
        value: value.chars().take(64).collect(),
        what,
    }
}

/// The four kinds of MANSCDP body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Query,
    Response,
    Notify,
    Control,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Query => "Query",
            Kind::Response => "Response",
            Kind::Notify => "Notify",
            Kind::Control => "Control",
        }
    }
}

/// A body's common part: its kind, `CmdType`, `SN` and `DeviceID`, and the whole tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub kind: Kind,
    pub cmd_type: String,
    pub sn: u32,
    pub device_id: String,
    pub root: Element,
    /// The charset the body came in: the answer goes back in it.
    pub charset: Charset,
}

impl Envelope {
    pub fn parse(body: &[u8]) -> Result<Envelope, ManscdpError> {
        let (text, charset) = xml::decode(body)?;
        let root = xml::parse(&text)?;
        let kind = match root.name.to_ascii_lowercase().as_str() {
            "query" => Kind::Query,
            "response" => Kind::Response,
            "notify" => Kind::Notify,
            "control" => Kind::Control,
            _ => return Err(ManscdpError::Root(root.name.chars().take(40).collect())),
        };
        let cmd_type = root
            .text_of("CmdType")
            .ok_or(ManscdpError::Missing("CmdType"))?
            .to_owned();
        let sn_text = root.text_of("SN").ok_or(ManscdpError::Missing("SN"))?;
        let sn = sn_text
            .parse()
            .map_err(|_| bad("SN", sn_text, "a serial number"))?;
        let device_id = root
            .text_of("DeviceID")
            .ok_or(ManscdpError::Missing("DeviceID"))?
            .to_owned();
        Ok(Envelope {
            kind,
            cmd_type,
            sn,
            device_id,
            root,
            charset,
        })
    }

    /// The body as a typed command.
    pub fn command(&self) -> Result<Command, ManscdpError> {
        let r = &self.root;
        let cmd = self.cmd_type.as_str();
        let is = |c: &str| cmd.eq_ignore_ascii_case(c);
        Ok(match self.kind {
            Kind::Notify if is("Keepalive") => Command::Keepalive {
                ok: r
                    .text_of("Status")
                    .is_none_or(|s| s.eq_ignore_ascii_case("OK")),
            },
            Kind::Notify if is("MediaStatus") => {
                let t = r
                    .text_of("NotifyType")
                    .ok_or(ManscdpError::Missing("NotifyType"))?;
                Command::MediaStatus {
                    notify_type: t.parse().map_err(|_| bad("NotifyType", t, "a number"))?,
                }
            }
            Kind::Query if is("Catalog") => Command::CatalogQuery,
            Kind::Query if is("DeviceInfo") => Command::DeviceInfoQuery,
            Kind::Query if is("DeviceStatus") => Command::DeviceStatusQuery,
            Kind::Query if is("RecordInfo") => Command::RecordInfoQuery(RecordQuery::read(r)?),
            Kind::Response if is("Catalog") => Command::Catalog(CatalogPage::read(r)?),
            Kind::Response if is("DeviceInfo") => Command::DeviceInfo(DeviceInfo::read(r)?),
            Kind::Response if is("DeviceStatus") => Command::DeviceStatus(DeviceStatus::read(r)?),
            Kind::Response if is("RecordInfo") => Command::RecordInfo(RecordPage::read(r)?),
            _ => Command::Other,
        })
    }
}

/// A typed MANSCDP command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Keepalive {
        ok: bool,
    },
    /// NotifyType 121: a playback or download has reached its end.
    MediaStatus {
        notify_type: u32,
    },
    CatalogQuery,
    DeviceInfoQuery,
    DeviceStatusQuery,
    RecordInfoQuery(RecordQuery),
    Catalog(CatalogPage),
    DeviceInfo(DeviceInfo),
    DeviceStatus(DeviceStatus),
    RecordInfo(RecordPage),
    Other,
}

/// A body's root with its `CmdType`, `SN` and `DeviceID`.
pub fn envelope(kind: Kind, cmd_type: &str, sn: u32, device_id: &str) -> Element {
    let mut e = Element::new(kind.as_str());
    e.push_text("CmdType", cmd_type)
        .push_text("SN", sn.to_string())
        .push_text("DeviceID", device_id);
    e
}

/// `<Notify><CmdType>Keepalive</CmdType>…<Status>OK</Status></Notify>`.
pub fn keepalive(sn: u32, device_id: &str) -> Element {
    let mut e = envelope(Kind::Notify, "Keepalive", sn, device_id);
    e.push_text("Status", "OK");
    e
}

/// The end-of-file notification of a playback or download (NotifyType 121).
pub fn media_status_end(sn: u32, device_id: &str) -> Element {
    let mut e = envelope(Kind::Notify, "MediaStatus", sn, device_id);
    e.push_text("NotifyType", "121");
    e
}

/// A query with nothing but its envelope (Catalog, DeviceInfo, DeviceStatus).
pub fn query(cmd_type: &str, sn: u32, device_id: &str) -> Element {
    envelope(Kind::Query, cmd_type, sn, device_id)
}

/// A time as GB/T 28181 writes it: `2026-12-03T10:00:00`, local to the platform; or,
/// when a peer adds an offset, the instant it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GbTime {
    Local(civil::DateTime),
    Instant(Timestamp),
}

impl GbTime {
    pub fn parse(field: &'static str, s: &str) -> Result<GbTime, ManscdpError> {
        let s = s.trim();
        if s.contains('[') {
            return Err(bad(field, s, "a time (no zone annotations)"));
        }
        if let Ok(t) = s.parse::<Timestamp>() {
            return Ok(GbTime::Instant(t));
        }
        s.parse::<civil::DateTime>()
            .map(GbTime::Local)
            .map_err(|_| bad(field, s, "a time like 2026-12-03T10:00:00"))
    }

    /// The instant, local times read in `tz` (the site's zone).
    pub fn to_timestamp(self, tz: &TimeZone) -> Result<Timestamp, ManscdpError> {
        match self {
            GbTime::Instant(t) => Ok(t),
            GbTime::Local(dt) => tz
                .to_ambiguous_zoned(dt)
                .compatible()
                .map(|z| z.timestamp())
                .map_err(|_| bad("time", &dt.to_string(), "a time in the site's zone")),
        }
    }

    /// The local time GB/T 28181 writes for `t` in `tz`, to the second.
    pub fn local(t: Timestamp, tz: &TimeZone) -> GbTime {
        GbTime::Local(tz.to_datetime(t))
    }

    /// The text written: local times without fraction or offset.
    pub fn to_text(self, tz: &TimeZone) -> String {
        let dt = match self {
            GbTime::Local(dt) => dt,
            GbTime::Instant(t) => tz.to_datetime(t),
        };
        dt.strftime("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

fn time_of(e: &Element, field: &'static str) -> Result<GbTime, ManscdpError> {
    GbTime::parse(field, e.text_of(field).ok_or(ManscdpError::Missing(field))?)
}

fn number_of(e: &Element, field: &'static str) -> Result<Option<u32>, ManscdpError> {
    e.text_of(field)
        .map(|t| t.parse().map_err(|_| bad(field, t, "a number")))
        .transpose()
}

fn owned(e: &Element, field: &str) -> Option<String> {
    e.text_of(field).map(str::to_owned)
}

/// One channel or device of a catalog (Table A.x `itemType`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogItem {
    pub device_id: String,
    pub name: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub owner: Option<String>,
    pub civil_code: Option<String>,
    pub address: Option<String>,
    pub parental: bool,
    pub parent_id: Option<String>,
    pub online: bool,
    pub longitude: Option<String>,
    pub latitude: Option<String>,
}

impl CatalogItem {
    fn read(e: &Element) -> Result<Self, ManscdpError> {
        Ok(CatalogItem {
            device_id: owned(e, "DeviceID").ok_or(ManscdpError::Missing("DeviceID"))?,
            name: owned(e, "Name").unwrap_or_default(),
            manufacturer: owned(e, "Manufacturer"),
            model: owned(e, "Model"),
            owner: owned(e, "Owner"),
            civil_code: owned(e, "CivilCode"),
            address: owned(e, "Address"),
            parental: e.text_of("Parental") == Some("1"),
            parent_id: owned(e, "ParentID"),
            online: e
                .text_of("Status")
                .is_some_and(|s| s.eq_ignore_ascii_case("ON") || s.eq_ignore_ascii_case("ONLINE")),
            longitude: owned(e, "Longitude"),
            latitude: owned(e, "Latitude"),
        })
    }

    fn to_element(&self) -> Element {
        let mut e = Element::new("Item");
        e.push_text("DeviceID", &self.device_id)
            .push_text("Name", &self.name);
        let optional = [
            ("Manufacturer", &self.manufacturer),
            ("Model", &self.model),
            ("Owner", &self.owner),
            ("CivilCode", &self.civil_code),
            ("Address", &self.address),
        ];
        for (n, v) in optional {
            e.push_text(n, v.clone().unwrap_or_default());
        }
        e.push_text("Parental", if self.parental { "1" } else { "0" });
        if let Some(p) = &self.parent_id {
            e.push_text("ParentID", p);
        }
        e.push_text("SafetyWay", "0")
            .push_text("RegisterWay", "1")
            .push_text("Secrecy", "0")
            .push_text("Status", if self.online { "ON" } else { "OFF" });
        if let (Some(lon), Some(lat)) = (&self.longitude, &self.latitude) {
            e.push_text("Longitude", lon).push_text("Latitude", lat);
        }
        e
    }
}

/// One response of a catalog: `sum_num` items in all, some of them here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogPage {
    pub device_id: String,
    pub sum_num: u32,
    pub items: Vec<CatalogItem>,
}

impl CatalogPage {
    fn read(r: &Element) -> Result<Self, ManscdpError> {
        let items = match r.child("DeviceList") {
            Some(list) => list
                .children
                .iter()
                .filter(|c| c.name.eq_ignore_ascii_case("Item"))
                .map(CatalogItem::read)
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(CatalogPage {
            device_id: owned(r, "DeviceID").unwrap_or_default(),
            sum_num: number_of(r, "SumNum")?.ok_or(ManscdpError::Missing("SumNum"))?,
            items,
        })
    }

    /// The catalog of `items` as responses of at most `per_page` items each (peers read
    /// UDP datagrams of a few kilobytes; GB/T 28181 lets a catalog span many messages).
    pub fn pages(sn: u32, device_id: &str, items: &[CatalogItem], per_page: usize) -> Vec<Element> {
        let per_page = per_page.max(1);
        let sum = items.len() as u32;
        let chunks: Vec<&[CatalogItem]> = if items.is_empty() {
            vec![&[]]
        } else {
            items.chunks(per_page).collect()
        };
        chunks
            .into_iter()
            .map(|chunk| {
                let mut e = envelope(Kind::Response, "Catalog", sn, device_id);
                e.push_text("SumNum", sum.to_string());
                let mut list = Element::new("DeviceList");
                list.attrs.push(("Num".into(), chunk.len().to_string()));
                list.children = chunk.iter().map(CatalogItem::to_element).collect();
                e.children.push(list);
                e
            })
            .collect()
    }
}

/// The answer to `DeviceInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    pub device_id: String,
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    pub firmware: String,
    pub channels: u32,
}

impl DeviceInfo {
    fn read(r: &Element) -> Result<Self, ManscdpError> {
        Ok(DeviceInfo {
            device_id: owned(r, "DeviceID").unwrap_or_default(),
            name: owned(r, "DeviceName").unwrap_or_default(),
            manufacturer: owned(r, "Manufacturer").unwrap_or_default(),
            model: owned(r, "Model").unwrap_or_default(),
            firmware: owned(r, "Firmware").unwrap_or_default(),
            channels: number_of(r, "Channel")?.unwrap_or(0),
        })
    }

    pub fn to_element(&self, sn: u32) -> Element {
        let mut e = envelope(Kind::Response, "DeviceInfo", sn, &self.device_id);
        e.push_text("DeviceName", &self.name)
            .push_text("Result", "OK")
            .push_text("Manufacturer", &self.manufacturer)
            .push_text("Model", &self.model)
            .push_text("Firmware", &self.firmware)
            .push_text("Channel", self.channels.to_string());
        e
    }
}

/// The answer to `DeviceStatus`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceStatus {
    pub device_id: String,
    pub online: bool,
    pub recording: bool,
    pub device_time: Option<GbTime>,
}

impl DeviceStatus {
    fn read(r: &Element) -> Result<Self, ManscdpError> {
        Ok(DeviceStatus {
            device_id: owned(r, "DeviceID").unwrap_or_default(),
            online: r
                .text_of("Online")
                .is_some_and(|s| s.eq_ignore_ascii_case("ONLINE")),
            recording: r
                .text_of("Record")
                .is_some_and(|s| s.eq_ignore_ascii_case("ON")),
            device_time: r
                .text_of("DeviceTime")
                .map(|t| GbTime::parse("DeviceTime", t))
                .transpose()?,
        })
    }

    pub fn to_element(&self, sn: u32, tz: &TimeZone) -> Element {
        let mut e = envelope(Kind::Response, "DeviceStatus", sn, &self.device_id);
        e.push_text("Result", "OK")
            .push_text("Online", if self.online { "ONLINE" } else { "OFFLINE" })
            .push_text("Status", "OK")
            .push_text("Encode", "ON")
            .push_text("Record", if self.recording { "ON" } else { "OFF" });
        if let Some(t) = self.device_time {
            e.push_text("DeviceTime", t.to_text(tz));
        }
        let mut alarms = Element::new("Alarmstatus");
        alarms.attrs.push(("Num".into(), "0".into()));
        e.children.push(alarms);
        e
    }
}

/// `RecordInfo`: the recordings of a channel between two times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordQuery {
    pub device_id: String,
    pub start: GbTime,
    pub end: GbTime,
    /// `all`, `time`, `alarm` or `manual`.
    pub kind: String,
}

impl RecordQuery {
    fn read(r: &Element) -> Result<Self, ManscdpError> {
        Ok(RecordQuery {
            device_id: owned(r, "DeviceID").ok_or(ManscdpError::Missing("DeviceID"))?,
            start: time_of(r, "StartTime")?,
            end: time_of(r, "EndTime")?,
            kind: owned(r, "Type").unwrap_or_else(|| "all".into()),
        })
    }

    pub fn to_element(&self, sn: u32, tz: &TimeZone) -> Element {
        let mut e = envelope(Kind::Query, "RecordInfo", sn, &self.device_id);
        e.push_text("StartTime", self.start.to_text(tz))
            .push_text("EndTime", self.end.to_text(tz))
            .push_text("Secrecy", "0")
            .push_text("Type", &self.kind);
        e
    }
}

/// One recording of a `RecordInfo` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordItem {
    pub device_id: String,
    pub name: String,
    pub start: GbTime,
    pub end: GbTime,
    pub file_size: Option<u64>,
}

/// One response of a `RecordInfo` answer: `sum_num` recordings in all, some here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordPage {
    pub device_id: String,
    pub name: String,
    pub sum_num: u32,
    pub items: Vec<RecordItem>,
}

impl RecordPage {
    fn read(r: &Element) -> Result<Self, ManscdpError> {
        let mut items = Vec::new();
        if let Some(list) = r.child("RecordList") {
            for i in list
                .children
                .iter()
                .filter(|c| c.name.eq_ignore_ascii_case("Item"))
            {
                items.push(RecordItem {
                    device_id: owned(i, "DeviceID").unwrap_or_default(),
                    name: owned(i, "Name").unwrap_or_default(),
                    start: time_of(i, "StartTime")?,
                    end: time_of(i, "EndTime")?,
                    file_size: i
                        .text_of("FileSize")
                        .map(|t| t.parse().map_err(|_| bad("FileSize", t, "a size")))
                        .transpose()?,
                });
            }
        }
        Ok(RecordPage {
            device_id: owned(r, "DeviceID").unwrap_or_default(),
            name: owned(r, "Name").unwrap_or_default(),
            sum_num: number_of(r, "SumNum")?.ok_or(ManscdpError::Missing("SumNum"))?,
            items,
        })
    }

    /// The answer as responses of at most `per_page` recordings each.
    pub fn pages(
        sn: u32,
        device_id: &str,
        name: &str,
        items: &[RecordItem],
        per_page: usize,
        tz: &TimeZone,
    ) -> Vec<Element> {
        let per_page = per_page.max(1);
        let chunks: Vec<&[RecordItem]> = if items.is_empty() {
            vec![&[]]
        } else {
            items.chunks(per_page).collect()
        };
        chunks
            .into_iter()
            .map(|chunk| {
                let mut e = envelope(Kind::Response, "RecordInfo", sn, device_id);
                e.push_text("Name", name)
                    .push_text("SumNum", items.len().to_string());
                let mut list = Element::new("RecordList");
                list.attrs.push(("Num".into(), chunk.len().to_string()));
                for i in chunk {
                    let mut item = Element::new("Item");
                    item.push_text("DeviceID", &i.device_id)
                        .push_text("Name", &i.name)
                        .push_text("FilePath", "")
                        .push_text("Address", "")
                        .push_text("StartTime", i.start.to_text(tz))
                        .push_text("EndTime", i.end.to_text(tz))
                        .push_text("Secrecy", "0")
                        .push_text("Type", "time");
                    if let Some(s) = i.file_size {
                        item.push_text("FileSize", s.to_string());
                    }
                    list.children.push(item);
                }
                e.children.push(list);
                e
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai() -> TimeZone {
        TimeZone::get("Asia/Shanghai").unwrap()
    }

    /// A catalog query as WVP-GB28181-pro sends it.
    const CATALOG_QUERY: &str = "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Query>\r\n\
        <CmdType>Catalog</CmdType>\r\n<SN>17430</SN>\r\n<DeviceID>44030500002000000001</DeviceID>\r\n</Query>\r\n";

    #[test]
    fn queries_parse() {
        let e = Envelope::parse(CATALOG_QUERY.as_bytes()).unwrap();
        assert_eq!(
            (e.kind, e.sn, e.device_id.as_str()),
            (Kind::Query, 17430, "44030500002000000001")
        );
        assert_eq!(e.command().unwrap(), Command::CatalogQuery);
        let r = RecordQuery {
            device_id: "44030500001320000001".into(),
            start: GbTime::parse("StartTime", "2026-12-03T10:00:00").unwrap(),
            end: GbTime::parse("EndTime", "2026-12-03T11:00:00").unwrap(),
            kind: "all".into(),
        };
        let bytes = r.to_element(7, &shanghai()).to_document(Charset::Gb18030);
        let back = Envelope::parse(&bytes).unwrap();
        assert_eq!(back.command().unwrap(), Command::RecordInfoQuery(r));
    }

    #[test]
    fn times_with_offsets_are_instants_and_local_times_are_the_sites() {
        let tz = shanghai();
        let local = GbTime::parse("StartTime", "2026-12-03T10:00:00").unwrap();
        let offset = GbTime::parse("StartTime", "2026-12-03T10:00:00+08:00").unwrap();
        let utc = GbTime::parse("StartTime", "2026-12-03T02:00:00Z").unwrap();
        let want: Timestamp = "2026-12-03T02:00:00Z".parse().unwrap();
        for t in [local, offset, utc] {
            assert_eq!(t.to_timestamp(&tz).unwrap(), want);
            assert_eq!(t.to_text(&tz), "2026-12-03T10:00:00");
        }
        // A space instead of the T, as some devices write.
        assert_eq!(
            GbTime::parse("StartTime", "2026-12-03 10:00:00").unwrap(),
            local
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00",
            "2026-12-03T10:00:00[Asia/Shanghai]",
        ] {
            assert!(GbTime::parse("StartTime", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_catalog_spans_pages_and_reads_back() {
        let items: Vec<CatalogItem> = (1..=5)
            .map(|i| CatalogItem {
                device_id: format!("4403050000132000000{i}"),
                name: format!("南山 {i}"),
                manufacturer: Some("Vidimus".into()),
                civil_code: Some("440305".into()),
                online: i % 2 == 1,
                ..Default::default()
            })
            .collect();
        let pages = CatalogPage::pages(9, "44030500002000000001", &items, 2);
        assert_eq!(pages.len(), 3);
        let mut back = Vec::new();
        for p in &pages {
            let env = Envelope::parse(&p.to_document(Charset::Gb18030)).unwrap();
            let Command::Catalog(page) = env.command().unwrap() else {
                panic!("a catalog")
            };
            assert_eq!(page.sum_num, 5);
            back.extend(page.items);
        }
        for (a, b) in items.iter().zip(&back) {
            assert_eq!(
                (&a.device_id, &a.name, a.online),
                (&b.device_id, &b.name, b.online)
            );
        }
        assert_eq!(CatalogPage::pages(9, "x", &[], 2).len(), 1);
    }

    #[test]
    fn notifications_and_answers_round_trip() {
        let tz = shanghai();
        let k = Envelope::parse(&keepalive(3, "44030500001320000001").to_document(Charset::Utf8))
            .unwrap();
        assert_eq!(k.command().unwrap(), Command::Keepalive { ok: true });
        let m = Envelope::parse(&media_status_end(4, "x").to_document(Charset::Gb18030)).unwrap();
        assert_eq!(
            m.command().unwrap(),
            Command::MediaStatus { notify_type: 121 }
        );
        let info = DeviceInfo {
            device_id: "44030500002000000001".into(),
            name: "Vidimus".into(),
            manufacturer: "Vidimus".into(),
            model: "NVR".into(),
            firmware: "0.1.0".into(),
            channels: 4,
        };
        let e = Envelope::parse(&info.to_element(5).to_document(Charset::Gb18030)).unwrap();
        assert_eq!(e.command().unwrap(), Command::DeviceInfo(info));
        let status = DeviceStatus {
            device_id: "44030500002000000001".into(),
            online: true,
            recording: true,
            device_time: Some(GbTime::parse("DeviceTime", "2026-12-03T10:00:00").unwrap()),
        };
        let e = Envelope::parse(&status.to_element(6, &tz).to_document(Charset::Utf8)).unwrap();
        assert_eq!(e.command().unwrap(), Command::DeviceStatus(status));
        let items = vec![RecordItem {
            device_id: "44030500001320000001".into(),
            name: "cam".into(),
            start: GbTime::parse("StartTime", "2026-12-03T10:00:00").unwrap(),
            end: GbTime::parse("EndTime", "2026-12-03T10:01:00").unwrap(),
            file_size: Some(123),
        }];
        let pages = RecordPage::pages(8, "44030500001320000001", "cam", &items, 10, &tz);
        let e = Envelope::parse(&pages[0].to_document(Charset::Gb18030)).unwrap();
        let Command::RecordInfo(page) = e.command().unwrap() else {
            panic!()
        };
        assert_eq!((page.sum_num, page.items), (1, items));
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        let cases: &[(&str, ManscdpError)] = &[
            ("<Foo/>", ManscdpError::Root("Foo".into())),
            (
                "<Query><SN>1</SN><DeviceID>x</DeviceID></Query>",
                ManscdpError::Missing("CmdType"),
            ),
            (
                "<Query><CmdType>Catalog</CmdType><SN>-1</SN><DeviceID>x</DeviceID></Query>",
                bad("SN", "-1", "a serial number"),
            ),
            (
                "<Query><CmdType>Catalog</CmdType><SN>1</SN></Query>",
                ManscdpError::Missing("DeviceID"),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                &Envelope::parse(body.as_bytes()).unwrap_err(),
                want,
                "{body}"
            );
        }
        let no_end = "<Query><CmdType>RecordInfo</CmdType><SN>1</SN><DeviceID>x</DeviceID>\
                      <StartTime>2026-12-03T10:00:00</StartTime></Query>";
        assert_eq!(
            Envelope::parse(no_end.as_bytes())
                .unwrap()
                .command()
                .unwrap_err(),
            ManscdpError::Missing("EndTime")
        );
        let control =
            "<Control><CmdType>DeviceControl</CmdType><SN>1</SN><DeviceID>x</DeviceID></Control>";
        assert_eq!(
            Envelope::parse(control.as_bytes())
                .unwrap()
                .command()
                .unwrap(),
            Command::Other
        );
    }
}
