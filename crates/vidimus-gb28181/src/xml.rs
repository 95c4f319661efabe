//! A small element tree of an XML body, bounded, and the charset it came in.
//!
//! MANSCDP bodies are a few kilobytes of flat elements, declared GB2312 (sent as GB2312,
//! GBK or GB18030, which are supersets in turn) or UTF-8 — and some peers declare one
//! and send the other. [`decode`] reads the declaration and falls back to the other
//! charset when the bytes are not valid in the declared one. [`parse`] reads the text
//! into [`Element`]s with quick-xml, refusing a `DOCTYPE` (no entity of a peer's is
//! ever expanded) and trees deeper or larger than any MANSCDP body.

use std::borrow::Cow;

use quick_xml::events::Event;

/// The deepest nesting accepted (MANSCDP has four levels; vendor extensions a few more).
pub const MAX_DEPTH: usize = 12;
/// The most elements in one body (a catalog page of a few hundred items is well below).
pub const MAX_ELEMENTS: usize = 20_000;

/// The charsets GB/T 28181 bodies come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// GB2312 as declared, read and written as GB18030 (a superset of GB2312 and GBK).
    Gb18030,
    Utf8,
}

impl Charset {
    /// The name written in the XML declaration. GB/T 28181-2016 declares `GB2312`; the
    /// 2022 edition's examples do too.
    pub fn declared_name(self) -> &'static str {
        match self {
            Charset::Gb18030 => "GB2312",
            Charset::Utf8 => "UTF-8",
        }
    }

    fn from_label(label: &str) -> Option<Charset> {
        let l = label.trim().to_ascii_lowercase();
        match l.as_str() {
            "gb2312" | "gbk" | "gb18030" | "gb_2312-80" | "x-gbk" | "cp936" => {
                Some(Charset::Gb18030)
            }
            "utf-8" | "utf8" => Some(Charset::Utf8),
            _ => None,
        }
    }

    /// `text` in this charset. A character GB18030 cannot hold does not occur (it holds
    /// all of Unicode).
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Charset::Utf8 => text.as_bytes().to_vec(),
            Charset::Gb18030 => encoding_rs::GB18030.encode(text).0.into_owned(),
        }
    }
}

/// What is wrong with an XML body.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("the body is neither GB18030 nor UTF-8")]
    Charset,
    #[error("the body declares the unsupported charset {0:?}")]
    UnknownCharset(String),
    #[error("malformed XML at byte {at}: {reason}")]
    Syntax { at: u64, reason: String },
    #[error("a DOCTYPE is not accepted")]
    Doctype,
    #[error("nested deeper than {MAX_DEPTH} elements")]
    TooDeep,
    #[error("more than {MAX_ELEMENTS} elements")]
    TooLarge,
    #[error("no root element")]
    Empty,
    #[error("<{0}> is not closed")]
    Unclosed(String),
}

/// The body's text and the charset it was in.
pub fn decode(body: &[u8]) -> Result<(String, Charset), XmlError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let declared = declared_encoding(body);
    let first = match &declared {
        Some(label) => {
            Charset::from_label(label).ok_or_else(|| XmlError::UnknownCharset(label.clone()))?
        }
        None => Charset::Utf8,
    };
    let other = match first {
        Charset::Utf8 => Charset::Gb18030,
        Charset::Gb18030 => Charset::Utf8,
    };
    for cs in [first, other] {
        if let Some(text) = decode_as(body, cs) {
            return Ok((text, cs));
        }
    }
    Err(XmlError::Charset)
}

fn decode_as(body: &[u8], cs: Charset) -> Option<String> {
    match cs {
        Charset::Utf8 => std::str::from_utf8(body).ok().map(str::to_owned),
        Charset::Gb18030 => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(body)
            .map(Cow::into_owned),
    }
}

/// The `encoding` of an `<?xml …?>` declaration at the start, read as ASCII.
fn declared_encoding(body: &[u8]) -> Option<String> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    let body = &body[start..];
    if !body.starts_with(b"<?xml") {
        return None;
    }
    let end = body.windows(2).take(200).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&body[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + 8..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    Some(rest[..rest.find(quote)?].to_owned())
}

/// An element: its name, attributes, its text (trimmed) and children.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn new(name: &str) -> Self {
        Element {
            name: name.to_owned(),
            ..Default::default()
        }
    }

    /// The first child named `name` (letter case ignored: peers differ).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The text of the first child named `name`, if it has any.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.as_str())
            .filter(|t| !t.is_empty())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Adds `<name>text</name>`.
    pub fn push_text(&mut self, name: &str, text: impl Into<String>) -> &mut Self {
        let mut e = Element::new(name);
        e.text = text.into();
        self.children.push(e);
        self
    }

    /// The element written out, with a declaration of `charset`, in `charset`.
    pub fn to_document(&self, charset: Charset) -> Vec<u8> {
        let mut s = format!(
            "<?xml version=\"1.0\" encoding=\"{}\"?>\r\n",
            charset.declared_name()
        );
        self.write(&mut s);
        s.push_str("\r\n");
        charset.encode(&s)
    }

    fn write(&self, s: &mut String) {
        s.push('<');
        s.push_str(&self.name);
        for (n, v) in &self.attrs {
            s.push_str(&format!(" {n}=\"{}\"", escape(v, true)));
        }
        s.push('>');
        // Text before the children: MANSCDP has no mixed content, but what was read is
        // written back whole.
        s.push_str(&escape(&self.text, false));
        if !self.children.is_empty() {
            for c in &self.children {
                s.push_str("\r\n");
                c.write(s);
            }
            s.push_str("\r\n");
        }
        s.push_str("</");
        s.push_str(&self.name);
        s.push('>');
    }
}

/// `s` escaped for element text, or for an attribute value (`attr`). A reader turns a
/// raw CR into LF, and tabs and line ends in attribute values into spaces: those are
/// written as character references, so what is read back is what was written.
fn escape(s: &str, attr: bool) -> Cow<'_, str> {
    let special = |c: char| {
        matches!(c, '<' | '>' | '&' | '"' | '\'' | '\r') || (attr && matches!(c, '\n' | '\t'))
    };
    if !s.contains(special) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The root element of `text`.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let syntax = |reader: &quick_xml::Reader<&[u8]>, e: &dyn std::fmt::Display| XmlError::Syntax {
        at: reader.buffer_position(),
        reason: e.to_string(),
    };
    let at = |reader: &quick_xml::Reader<&[u8]>, err: Result<XmlError, String>| match err {
        Ok(e) => e,
        Err(reason) => XmlError::Syntax {
            at: reader.buffer_position(),
            reason,
        },
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| syntax(&reader, &e))?;
        match event {
            Event::Start(e) => {
                let el = element_of(&e, &mut count).map_err(|err| at(&reader, err))?;
                if root.is_some() {
                    return Err(syntax(&reader, &"a second root element"));
                }
                if stack.len() == MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                stack.push(el);
            }
            Event::Empty(e) => {
                let el = element_of(&e, &mut count).map_err(|err| at(&reader, err))?;
                if root.is_some() {
                    return Err(syntax(&reader, &"a second root element"));
                }
                attach(&mut stack, &mut root, el);
            }
            Event::End(_) => {
                // quick-xml checks that end names match their starts.
                let el = stack
                    .pop()
                    .ok_or_else(|| syntax(&reader, &"an end without a start"))?;
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => match stack.last_mut() {
                Some(el) => el.text.push_str(&t.xml10_content()),
                None if t.xml10_content().trim().is_empty() => {}
                None => return Err(syntax(&reader, &"text outside the root element")),
            },
            Event::CData(t) => match stack.last_mut() {
                Some(el) => el.text.push_str(&t.xml10_content()),
                None => return Err(syntax(&reader, &"CDATA outside the root element")),
            },
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| syntax(&reader, &e))? {
                    Some(c) => c,
                    None => match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => {
                            return Err(syntax(&reader, &format!("unknown entity &{other};")));
                        }
                    },
                };
                match stack.last_mut() {
                    Some(el) => el.text.push(c),
                    None => return Err(syntax(&reader, &"text outside the root element")),
                }
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.first() {
        return Err(XmlError::Unclosed(open.name.clone()));
    }
    let mut root = root.ok_or(XmlError::Empty)?;
    trim(&mut root);
    Ok(root)
}

/// An element's name and attributes; `count` is the elements so far.
fn element_of(
    e: &quick_xml::events::BytesStart<'_>,
    count: &mut usize,
) -> Result<Element, Result<XmlError, String>> {
    *count += 1;
    if *count > MAX_ELEMENTS {
        return Err(Ok(XmlError::TooLarge));
    }
    let mut el = Element::new(e.name().as_ref());
    for a in e.attributes() {
        let a = a.map_err(|err| Err(err.to_string()))?;
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| Err(err.to_string()))?;
        el.attrs.push((a.key.as_ref().to_owned(), v.into_owned()));
    }
    Ok(el)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

fn trim(el: &mut Element) {
    let t = el.text.trim();
    if t.len() != el.text.len() {
        el.text = t.to_owned();
    }
    for c in &mut el.children {
        trim(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb2312_and_utf8_bodies_decode_whatever_they_declare() {
        let doc =
            "<?xml version=\"1.0\" encoding=\"GB2312\"?>\n<Notify><Name>南山区 1号</Name></Notify>";
        let gb = Charset::Gb18030.encode(doc);
        assert_ne!(gb, doc.as_bytes());
        let (text, cs) = decode(&gb).unwrap();
        assert_eq!((text.as_str(), cs), (doc, Charset::Gb18030));
        // Declared GB2312, sent in UTF-8: the UTF-8 bytes are not valid GB18030 here.
        let (text, cs) = decode(doc.as_bytes()).unwrap();
        assert_eq!((text.as_str(), cs), (doc, Charset::Utf8));
        // No declaration: UTF-8 first.
        let (_, cs) = decode("<a>é</a>".as_bytes()).unwrap();
        assert_eq!(cs, Charset::Utf8);
        assert_eq!(
            decode(b"<?xml version='1.0' encoding='EBCDIC'?><a/>").unwrap_err(),
            XmlError::UnknownCharset("EBCDIC".into())
        );
        let root = parse(&decode(&gb).unwrap().0).unwrap();
        assert_eq!(root.text_of("name"), Some("南山区 1号"));
    }

    #[test]
    fn the_tree_round_trips() {
        let mut e = Element::new("Response");
        e.push_text("CmdType", "Catalog")
            .push_text("Name", "A & <B> \"c\"");
        let mut list = Element::new("DeviceList");
        list.attrs.push(("Num".into(), "1".into()));
        list.children.push(Element::new("Item"));
        e.children.push(list);
        for cs in [Charset::Gb18030, Charset::Utf8] {
            let bytes = e.to_document(cs);
            let back = parse(&decode(&bytes).unwrap().0).unwrap();
            assert_eq!(back, e);
        }
        let mut odd = Element::new("A");
        odd.text = "one\rtwo\r\nthree".into();
        odd.attrs.push(("x".into(), "a\tb\nc\rd".into()));
        let back = parse(&decode(&odd.to_document(Charset::Utf8)).unwrap().0).unwrap();
        assert_eq!(back, odd, "CRs, tabs and line ends survive");
        let empty = parse("<a><b/><c x='1'/></a>").unwrap();
        assert_eq!(empty.children.len(), 2);
        assert_eq!(empty.child("c").unwrap().attr("x"), Some("1"));
        assert_eq!(parse("<a>&#x41;&amp;&#66;</a>").unwrap().text, "A&B");
    }

    #[test]
    fn hostile_xml_is_refused() {
        assert_eq!(
            parse("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>").unwrap_err(),
            XmlError::Doctype
        );
        assert!(matches!(parse("<a>&x;</a>"), Err(XmlError::Syntax { .. })));
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&deep).unwrap_err(), XmlError::TooDeep);
        let wide = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS));
        assert_eq!(parse(&wide).unwrap_err(), XmlError::TooLarge);
        assert_eq!(parse("<a><b>").unwrap_err(), XmlError::Unclosed("a".into()));
        assert!(matches!(parse("<a></b>"), Err(XmlError::Syntax { .. })));
        assert!(matches!(parse("<a/><b/>"), Err(XmlError::Syntax { .. })));
        assert!(matches!(parse("x<a/>"), Err(XmlError::Syntax { .. })));
        assert_eq!(parse("  ").unwrap_err(), XmlError::Empty);
    }
}
