//! AMF0 (Action Message Format, version 0): the encoding of RTMP commands and of FLV
//! script data (`onMetaData`).
//!
//! Decoding is bounded: containers nest at most [`MAX_DEPTH`] levels, element counts read
//! from the wire are never used to preallocate (every element needs input bytes, so the
//! input length bounds the work), and strings are taken as UTF-8 with invalid sequences
//! replaced. References (0x07), record sets, movie clips and the switch to AMF3 are
//! refused with an error.

use bytes::{BufMut, BytesMut};

/// Deepest nesting of objects and arrays accepted by the decoder.
pub const MAX_DEPTH: usize = 32;

const NUMBER: u8 = 0x00;
const BOOLEAN: u8 = 0x01;
const STRING: u8 = 0x02;
const OBJECT: u8 = 0x03;
const MOVIE_CLIP: u8 = 0x04;
const NULL: u8 = 0x05;
const UNDEFINED: u8 = 0x06;
const REFERENCE: u8 = 0x07;
const ECMA_ARRAY: u8 = 0x08;
const OBJECT_END: u8 = 0x09;
const STRICT_ARRAY: u8 = 0x0a;
const DATE: u8 = 0x0b;
const LONG_STRING: u8 = 0x0c;
const UNSUPPORTED: u8 = 0x0d;
const RECORD_SET: u8 = 0x0e;
const XML_DOCUMENT: u8 = 0x0f;
const TYPED_OBJECT: u8 = 0x10;
const AVMPLUS: u8 = 0x11;

/// Why AMF0 data could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Amf0Error {
    #[error("AMF0 data truncated")]
    Truncated,
    #[error("unknown AMF0 type marker 0x{0:02x}")]
    UnknownMarker(u8),
    #[error("unsupported AMF0 type: {0}")]
    Unsupported(&'static str),
    #[error("AMF0 values nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("unexpected AMF0 object end marker")]
    UnexpectedObjectEnd,
}

/// Properties of an object or ECMA array, in wire order (keys may repeat).
pub type Properties = Vec<(String, Amf0Value)>;

/// One AMF0 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf0Value {
    Number(f64),
    Boolean(bool),
    /// A string; encoded as a long string when longer than 65535 bytes.
    String(String),
    Object(Properties),
    Null,
    Undefined,
    EcmaArray(Properties),
    StrictArray(Vec<Amf0Value>),
    /// Milliseconds since the Unix epoch and a time zone (always 0 by the spec).
    Date {
        millis: f64,
        timezone: i16,
    },
    XmlDocument(String),
    TypedObject {
        class: String,
        properties: Properties,
    },
    /// The "unsupported" marker (0x0d), a value with no content.
    Unsupported,
}

impl Amf0Value {
    /// An object from `(key, value)` pairs.
    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Amf0Value)>) -> Self {
        Amf0Value::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string value.
    pub fn string(s: impl Into<String>) -> Self {
        Amf0Value::String(s.into())
    }

    /// The text of a string (or XML document).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Amf0Value::String(s) | Amf0Value::XmlDocument(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Amf0Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Amf0Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// Properties of an object, ECMA array or typed object.
    pub fn properties(&self) -> Option<&[(String, Amf0Value)]> {
        match self {
            Amf0Value::Object(p)
            | Amf0Value::EcmaArray(p)
            | Amf0Value::TypedObject { properties: p, .. } => Some(p),
            _ => None,
        }
    }

    /// The first property named `key` of an object, ECMA array or typed object.
    pub fn get(&self, key: &str) -> Option<&Amf0Value> {
        self.properties()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Appends the encoding of the value to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Amf0Value::Number(n) => {
                out.put_u8(NUMBER);
                out.put_f64(*n);
            }
            Amf0Value::Boolean(b) => {
                out.put_u8(BOOLEAN);
                out.put_u8(u8::from(*b));
            }
            Amf0Value::String(s) => match u16::try_from(s.len()) {
                Ok(len) => {
                    out.put_u8(STRING);
                    out.put_u16(len);
                    out.put_slice(s.as_bytes());
                }
                Err(_) => {
                    out.put_u8(LONG_STRING);
                    put_long_utf8(out, s);
                }
            },
            Amf0Value::Object(props) => {
                out.put_u8(OBJECT);
                put_properties(out, props);
            }
            Amf0Value::Null => out.put_u8(NULL),
            Amf0Value::Undefined => out.put_u8(UNDEFINED),
            Amf0Value::EcmaArray(props) => {
                out.put_u8(ECMA_ARRAY);
                out.put_u32(u32::try_from(props.len()).unwrap_or(u32::MAX));
                put_properties(out, props);
            }
            Amf0Value::StrictArray(items) => {
                out.put_u8(STRICT_ARRAY);
                out.put_u32(u32::try_from(items.len()).unwrap_or(u32::MAX));
                for item in items {
                    item.encode(out);
                }
            }
            Amf0Value::Date { millis, timezone } => {
                out.put_u8(DATE);
                out.put_f64(*millis);
                out.put_i16(*timezone);
            }
            Amf0Value::XmlDocument(s) => {
                out.put_u8(XML_DOCUMENT);
                put_long_utf8(out, s);
            }
            Amf0Value::TypedObject { class, properties } => {
                out.put_u8(TYPED_OBJECT);
                put_short_utf8(out, class);
                put_properties(out, properties);
            }
            Amf0Value::Unsupported => out.put_u8(UNSUPPORTED),
        }
    }
}

/// A UTF-8 string with a 16-bit length; longer strings are cut at a character boundary
/// (object keys and class names have no long form).
fn put_short_utf8(out: &mut BytesMut, s: &str) {
    let mut end = s.len().min(usize::from(u16::MAX));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.put_u16(end as u16);
    out.put_slice(&s.as_bytes()[..end]);
}

fn put_long_utf8(out: &mut BytesMut, s: &str) {
    out.put_u32(u32::try_from(s.len()).unwrap_or(u32::MAX));
    out.put_slice(s.as_bytes());
}

fn put_properties(out: &mut BytesMut, props: &[(String, Amf0Value)]) {
    for (key, value) in props {
        put_short_utf8(out, key);
        value.encode(out);
    }
    out.put_slice(&[0, 0, OBJECT_END]);
}

/// Encodes values one after the other (a command or a script data body).
pub fn encode_all<'a>(values: impl IntoIterator<Item = &'a Amf0Value>, out: &mut BytesMut) {
    for v in values {
        v.encode(out);
    }
}

/// Decodes one value from the start of `buf`; returns it and the bytes used.
pub fn decode(buf: &[u8]) -> Result<(Amf0Value, usize), Amf0Error> {
    let mut r = Reader { buf, pos: 0 };
    let v = r.value(0)?;
    Ok((v, r.pos))
}

/// Decodes all values in `buf` (a command or a script data body).
pub fn decode_all(buf: &[u8]) -> Result<Vec<Amf0Value>, Amf0Error> {
    let mut r = Reader { buf, pos: 0 };
    let mut values = Vec::new();
    while r.pos < buf.len() {
        values.push(r.value(0)?);
    }
    Ok(values)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Amf0Error> {
        let end = self.pos.checked_add(n).ok_or(Amf0Error::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(Amf0Error::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, Amf0Error> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Amf0Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Amf0Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f64(&mut self) -> Result<f64, Amf0Error> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_be_bytes(a))
    }

    fn utf8(&mut self, len: usize) -> Result<String, Amf0Error> {
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    fn short_string(&mut self) -> Result<String, Amf0Error> {
        let len = self.u16()?;
        self.utf8(usize::from(len))
    }

    fn long_string(&mut self) -> Result<String, Amf0Error> {
        let len = self.u32()?;
        self.utf8(usize::try_from(len).map_err(|_| Amf0Error::Truncated)?)
    }

    /// Key/value pairs up to the object end marker. `lenient_end`: the end of the input
    /// also ends the list (some encoders leave the marker off a trailing ECMA array).
    fn properties(&mut self, depth: usize, lenient_end: bool) -> Result<Properties, Amf0Error> {
        let mut props = Vec::new();
        loop {
            if lenient_end && self.pos == self.buf.len() {
                return Ok(props);
            }
            let key = self.short_string()?;
            if key.is_empty() && self.buf.get(self.pos) == Some(&OBJECT_END) {
                self.pos += 1;
                return Ok(props);
            }
            let value = self.value(depth + 1)?;
            props.push((key, value));
        }
    }

    fn value(&mut self, depth: usize) -> Result<Amf0Value, Amf0Error> {
        if depth >= MAX_DEPTH {
            return Err(Amf0Error::TooDeep);
        }
        let marker = self.u8()?;
        Ok(match marker {
            NUMBER => Amf0Value::Number(self.f64()?),
            BOOLEAN => Amf0Value::Boolean(self.u8()? != 0),
            STRING => Amf0Value::String(self.short_string()?),
            OBJECT => Amf0Value::Object(self.properties(depth, false)?),
            NULL => Amf0Value::Null,
            UNDEFINED => Amf0Value::Undefined,
            ECMA_ARRAY => {
                // The count is only a hint: the list ends at the end marker.
                self.u32()?;
                Amf0Value::EcmaArray(self.properties(depth, true)?)
            }
            OBJECT_END => return Err(Amf0Error::UnexpectedObjectEnd),
            STRICT_ARRAY => {
                let count = self.u32()?;
                let mut items = Vec::new();
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Amf0Value::StrictArray(items)
            }
            DATE => {
                let millis = self.f64()?;
                let timezone = self.u16()? as i16;
                Amf0Value::Date { millis, timezone }
            }
            LONG_STRING => Amf0Value::String(self.long_string()?),
            UNSUPPORTED => Amf0Value::Unsupported,
            XML_DOCUMENT => Amf0Value::XmlDocument(self.long_string()?),
            TYPED_OBJECT => {
                let class = self.short_string()?;
                let properties = self.properties(depth, false)?;
                Amf0Value::TypedObject { class, properties }
            }
            MOVIE_CLIP => return Err(Amf0Error::Unsupported("movie clip")),
            REFERENCE => return Err(Amf0Error::Unsupported("reference")),
            RECORD_SET => return Err(Amf0Error::Unsupported("record set")),
            AVMPLUS => return Err(Amf0Error::Unsupported("AMF3 value (avmplus-object)")),
            other => return Err(Amf0Error::UnknownMarker(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn enc(v: &Amf0Value) -> Vec<u8> {
        let mut out = BytesMut::new();
        v.encode(&mut out);
        out.to_vec()
    }

    fn round_trip(v: Amf0Value) {
        let bytes = enc(&v);
        let (back, used) = decode(&bytes).expect("decodes");
        assert_eq!(used, bytes.len());
        assert_eq!(back, v);
    }

    #[test]
    fn scalars_have_their_wire_form() {
        assert_eq!(enc(&Amf0Value::Number(1.0)), hex("00 3ff0000000000000"));
        assert_eq!(enc(&Amf0Value::Boolean(true)), hex("01 01"));
        assert_eq!(enc(&Amf0Value::string("ab")), hex("02 0002 6162"));
        assert_eq!(enc(&Amf0Value::Null), hex("05"));
        assert_eq!(enc(&Amf0Value::Undefined), hex("06"));
        assert_eq!(
            enc(&Amf0Value::Date {
                millis: 0.0,
                timezone: 0
            }),
            hex("0b 0000000000000000 0000")
        );
    }

    #[test]
    fn round_trips() {
        round_trip(Amf0Value::Number(-2.5));
        round_trip(Amf0Value::Number(f64::MAX));
        round_trip(Amf0Value::Boolean(false));
        round_trip(Amf0Value::string(""));
        round_trip(Amf0Value::string("connect"));
        round_trip(Amf0Value::string("é ü 漢字"));
        round_trip(Amf0Value::Null);
        round_trip(Amf0Value::Undefined);
        round_trip(Amf0Value::Unsupported);
        round_trip(Amf0Value::Date {
            millis: 1_700_000_000_000.0,
            timezone: -60,
        });
        round_trip(Amf0Value::XmlDocument("<a/>".into()));
        round_trip(Amf0Value::object([
            ("app", Amf0Value::string("live")),
            ("capabilities", Amf0Value::Number(15.0)),
            (
                "nested",
                Amf0Value::object([("x", Amf0Value::Boolean(true))]),
            ),
        ]));
        round_trip(Amf0Value::EcmaArray(vec![
            ("width".into(), Amf0Value::Number(1280.0)),
            ("encoder".into(), Amf0Value::string("Lavf")),
        ]));
        round_trip(Amf0Value::EcmaArray(vec![]));
        round_trip(Amf0Value::StrictArray(vec![
            Amf0Value::string("avc1"),
            Amf0Value::string("hvc1"),
            Amf0Value::Null,
            Amf0Value::StrictArray(vec![]),
        ]));
        round_trip(Amf0Value::TypedObject {
            class: "flex.Msg".into(),
            properties: vec![("a".into(), Amf0Value::Number(1.0))],
        });
    }

    #[test]
    fn long_strings_use_the_long_form() {
        let s = "x".repeat(70_000);
        let bytes = enc(&Amf0Value::String(s.clone()));
        assert_eq!(bytes[0], LONG_STRING);
        assert_eq!(&bytes[1..5], &70_000u32.to_be_bytes());
        round_trip(Amf0Value::String(s));
        // A short text in the long form decodes to the same string.
        let (v, _) = decode(&hex("0c 00000002 6869")).expect("long string");
        assert_eq!(v, Amf0Value::string("hi"));
    }

    #[test]
    fn ffmpeg_connect_command_decodes() {
        // "connect", 1, {app: "live", type: "nonprivate", flashVer: "FMLE/3.0"}
        let bytes = hex("02 0007 636f6e6e656374 00 3ff0000000000000 03
             0003 617070 02 0004 6c697665
             0004 74797065 02 000a 6e6f6e70726976617465
             0008 666c617368566572 02 0008 464d4c452f332e30
             000009");
        let values = decode_all(&bytes).expect("decodes");
        assert_eq!(values.len(), 3);
        assert_eq!(values[0].as_str(), Some("connect"));
        assert_eq!(values[1].as_f64(), Some(1.0));
        assert_eq!(
            values[2].get("app").and_then(Amf0Value::as_str),
            Some("live")
        );
        assert_eq!(
            values[2].get("flashVer").and_then(Amf0Value::as_str),
            Some("FMLE/3.0")
        );
        assert_eq!(values[2].get("missing"), None);
    }

    #[test]
    fn ecma_array_count_is_a_hint_and_end_marker_may_be_missing() {
        // Count says 5, one property, end marker present.
        let (v, _) = decode(&hex("08 00000005 0001 61 0100 000009")).expect("decodes");
        assert_eq!(
            v,
            Amf0Value::EcmaArray(vec![("a".into(), Amf0Value::Boolean(false))])
        );
        // No end marker at the end of the input.
        let (v, _) = decode(&hex("08 00000001 0001 61 0101")).expect("decodes");
        assert_eq!(
            v,
            Amf0Value::EcmaArray(vec![("a".into(), Amf0Value::Boolean(true))])
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(decode(&[]), Err(Amf0Error::Truncated));
        assert_eq!(decode(&hex("00 3ff0")), Err(Amf0Error::Truncated));
        assert_eq!(decode(&hex("02 0005 6162")), Err(Amf0Error::Truncated));
        assert_eq!(decode(&hex("0c ffffffff 00")), Err(Amf0Error::Truncated));
        assert_eq!(decode(&hex("03 0001 61")), Err(Amf0Error::Truncated));
        assert_eq!(decode(&hex("03 0001 61 0101")), Err(Amf0Error::Truncated));
        assert_eq!(decode(&hex("0a 00000003 05")), Err(Amf0Error::Truncated));
        assert_eq!(decode(&hex("0a ffffffff")), Err(Amf0Error::Truncated));
        assert_eq!(decode(&hex("12")), Err(Amf0Error::UnknownMarker(0x12)));
        assert_eq!(decode(&hex("09")), Err(Amf0Error::UnexpectedObjectEnd));
        assert_eq!(
            decode(&hex("07 0001")),
            Err(Amf0Error::Unsupported("reference"))
        );
        assert_eq!(
            decode(&hex("11 02")),
            Err(Amf0Error::Unsupported("AMF3 value (avmplus-object)"))
        );
        assert_eq!(
            decode(&hex("04")),
            Err(Amf0Error::Unsupported("movie clip"))
        );
        assert_eq!(
            decode(&hex("0e")),
            Err(Amf0Error::Unsupported("record set"))
        );
    }

    #[test]
    fn nesting_is_capped() {
        let mut bytes = [STRICT_ARRAY, 0, 0, 0, 1].repeat(MAX_DEPTH);
        bytes.push(NULL);
        assert_eq!(decode(&bytes), Err(Amf0Error::TooDeep));
        let mut ok = [STRICT_ARRAY, 0, 0, 0, 1].repeat(MAX_DEPTH - 1);
        ok.push(NULL);
        assert!(decode(&ok).is_ok());
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        let (v, _) = decode(&hex("02 0002 ff61")).expect("decodes");
        assert_eq!(v, Amf0Value::string("\u{fffd}a"));
    }
}
