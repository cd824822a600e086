//! Pretty JSON with every object's keys in order, written straight from a `Serialize`
//! value: the bytes `serde_json::to_string_pretty(&serde_json::to_value(x))` gives (its
//! `Value` maps sort their keys), without building that tree. `hbmon status --json` was
//! printed that way, and at 10 000 rows the tree (a `String` and a map node for each of
//! ~60 fields a row) cost more than the printing.
//!
//! Each object is written where it stands; if its keys did not come in order (a struct's
//! fields in declaration order, a flattened map after them), its fields, each kept as a
//! byte range, are copied back in key order. A key given twice keeps its last value, as a
//! map insert does.

use std::fmt::Display;

use serde::ser::{self, Serialize};

mod key;

/// `value` as pretty JSON (two-space indent), every object's keys sorted.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut writer = Writer::default();
    value.serialize(&mut writer)?;
    Ok(writer.out)
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error(e.to_string())
    }
}

/// One field of an object being written: its key and where its bytes (indent, key,
/// value) are in `out`.
#[derive(Debug, Clone, Copy)]
struct Field {
    key: Key,
    /// The key's first eight bytes, big-endian (zeros after a shorter key): most keys are
    /// ordered by it alone, without comparing strings.
    prefix: u64,
    start: usize,
    end: usize,
}

/// A struct's keys are static; a map's are kept in `Writer::keys`.
#[derive(Debug, Clone, Copy)]
enum Key {
    Static(&'static str),
    Kept { start: usize, end: usize },
}

#[derive(Debug, Default)]
struct Writer {
    out: Vec<u8>,
    depth: usize,
    /// The fields of every object being written, innermost last.
    fields: Vec<Field>,
    /// The keys of maps being written.
    keys: String,
    /// Where an object's body is copied to, to be written back in key order.
    scratch: Vec<u8>,
}

fn key_str(keys: &str, key: Key) -> &str {
    match key {
        Key::Static(k) => k,
        Key::Kept { start, end } => &keys[start..end],
    }
}

fn prefix(key: &str) -> u64 {
    let mut bytes = [0; 8];
    let n = key.len().min(8);
    bytes[..n].copy_from_slice(&key.as_bytes()[..n]);
    u64::from_be_bytes(bytes)
}

/// Two fields in the order of their keys' bytes, as a `Value` map orders its keys.
fn order(keys: &str, a: &Field, b: &Field) -> std::cmp::Ordering {
    (a.prefix.cmp(&b.prefix)).then_with(|| key_str(keys, a.key).cmp(key_str(keys, b.key)))
}

/// An object being written (struct, map, or the `{"Variant": …}` around an enum variant's
/// data): where its fields and text begin.
#[derive(Debug, Clone, Copy)]
struct Object {
    /// Its first field in `Writer::fields`.
    first: usize,
    /// Where its body starts in `Writer::out` (after the `{`).
    body: usize,
    /// Where its keys start in `Writer::keys`.
    keys: usize,
    /// Whether every key so far came after the one before.
    sorted: bool,
}

impl Writer {
    fn newline_indent(&mut self) {
        self.out.push(b'\n');
        self.out.resize(self.out.len() + 2 * self.depth, b' ');
    }

    /// A scalar, as serde_json writes it (escaped strings, floats by the same formatter,
    /// `null` for a float that is not finite).
    fn scalar<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        serde_json::to_writer(&mut self.out, value)?;
        Ok(())
    }

    fn open_object(&mut self) -> Object {
        self.out.push(b'{');
        self.depth += 1;
        Object {
            first: self.fields.len(),
            body: self.out.len(),
            keys: self.keys.len(),
            sorted: true,
        }
    }

    /// Starts a field of `object`: the separator, the indent, the escaped key and `": "`.
    fn begin_field(&mut self, object: &mut Object, key: Key) -> Result<(), Error> {
        let text = key_str(&self.keys, key);
        let field = Field {
            key,
            prefix: prefix(text),
            start: 0,
            end: 0,
        };
        if let Some(last) = self
            .fields
            .last()
            .filter(|_| self.fields.len() > object.first)
        {
            object.sorted &= order(&self.keys, last, &field).is_lt();
            self.out.push(b',');
        }
        // `newline_indent`, spelled out: `text` may borrow `keys`.
        self.out.push(b'\n');
        let start = self.out.len();
        self.out.resize(start + 2 * self.depth, b' ');
        serde_json::to_writer(&mut self.out, text)?;
        self.out.extend_from_slice(b": ");
        self.fields.push(Field {
            start,
            end: start,
            ..field
        });
        Ok(())
    }

    /// The value of the field just begun.
    fn field_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self)?;
        self.end_field();
        Ok(())
    }

    fn end_field(&mut self) {
        let end = self.out.len();
        if let Some(field) = self.fields.last_mut() {
            field.end = end;
        }
    }

    fn close_object(&mut self, object: Object) {
        self.depth -= 1;
        let any = self.fields.len() > object.first;
        if !object.sorted {
            self.reorder(object);
        }
        self.fields.truncate(object.first);
        self.keys.truncate(object.keys);
        if any {
            self.newline_indent();
        }
        self.out.push(b'}');
    }

    /// Rewrites `object`'s body in key order, a key given twice keeping its last value.
    fn reorder(&mut self, object: Object) {
        let fields = &mut self.fields[object.first..];
        let keys = &self.keys;
        // Stable: of equal keys the last given stays last.
        fields.sort_by(|a, b| order(keys, a, b));
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.out[object.body..]);
        self.out.truncate(object.body);
        let mut written = 0;
        for (i, field) in fields.iter().enumerate() {
            let next = fields.get(i + 1);
            if next.is_some_and(|n| order(keys, n, field).is_eq()) {
                continue;
            }
            if written > 0 {
                self.out.push(b',');
            }
            written += 1;
            self.out.push(b'\n');
            let (start, end) = (field.start - object.body, field.end - object.body);
            self.out.extend_from_slice(&self.scratch[start..end]);
        }
    }

    fn open_array(&mut self) -> bool {
        self.out.push(b'[');
        self.depth += 1;
        true
    }

    /// Starts an element of an array (`empty` while it has none).
    fn begin_element(&mut self, empty: &mut bool) {
        if !*empty {
            self.out.push(b',');
        }
        *empty = false;
        self.newline_indent();
    }

    fn close_array(&mut self, empty: bool) {
        self.depth -= 1;
        if !empty {
            self.newline_indent();
        }
        self.out.push(b']');
    }

    /// Writes `{"variant": ` for an enum variant's data, which follows.
    fn open_variant(&mut self, variant: &'static str) -> Result<Object, Error> {
        let mut outer = self.open_object();
        self.begin_field(&mut outer, Key::Static(variant))?;
        Ok(outer)
    }

    fn close_variant(&mut self, outer: Object) {
        self.end_field();
        self.close_object(outer);
    }
}

/// An array or object being written, and for an enum variant's data the object around it.
struct Compound<'a, State> {
    writer: &'a mut Writer,
    state: State,
    variant: Option<Object>,
}

impl<'a, State> Compound<'a, State> {
    fn new(writer: &'a mut Writer, state: State) -> Self {
        Compound {
            writer,
            state,
            variant: None,
        }
    }
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, bool>;
    type SerializeTuple = Compound<'a, bool>;
    type SerializeTupleStruct = Compound<'a, bool>;
    type SerializeTupleVariant = Compound<'a, bool>;
    type SerializeMap = Compound<'a, Object>;
    type SerializeStruct = Compound<'a, Object>;
    type SerializeStructVariant = Compound<'a, Object>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        // As a `Value` holds it: a number if it fits 64 bits, else refused.
        self.scalar(&serde_json::to_value(v)?)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.scalar(&serde_json::to_value(v)?)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        // A `Value` keeps an f32 as the f64 it widens to, and prints that (15.2 comes out
        // as 15.199999809265137): so must this.
        self.scalar(&f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut empty = self.open_array();
        for b in v {
            self.begin_element(&mut empty);
            self.scalar(b)?;
        }
        self.close_array(empty);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.scalar(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let outer = self.open_variant(variant)?;
        value.serialize(&mut *self)?;
        self.close_variant(outer);
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a, bool>, Error> {
        let empty = self.open_array();
        Ok(Compound::new(self, empty))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a, bool>, Error> {
        self.serialize_seq(None)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Compound<'a, bool>, Error> {
        self.serialize_seq(None)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, bool>, Error> {
        let outer = self.open_variant(variant)?;
        let mut array = self.serialize_seq(None)?;
        array.variant = Some(outer);
        Ok(array)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a, Object>, Error> {
        let object = self.open_object();
        Ok(Compound::new(self, object))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a, Object>, Error> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, Object>, Error> {
        let outer = self.open_variant(variant)?;
        let mut object = self.serialize_map(None)?;
        object.variant = Some(outer);
        Ok(object)
    }
}

impl Compound<'_, bool> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.writer.begin_element(&mut self.state);
        value.serialize(&mut *self.writer)
    }

    fn close(self) {
        self.writer.close_array(self.state);
        if let Some(outer) = self.variant {
            self.writer.close_variant(outer);
        }
    }
}

impl Compound<'_, Object> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.writer.begin_field(&mut self.state, Key::Static(key))?;
        self.writer.field_value(value)
    }

    fn close(self) {
        self.writer.close_object(self.state);
        if let Some(outer) = self.variant {
            self.writer.close_variant(outer);
        }
    }
}

// serde asks for one trait per shape; the arrays' four are one element each, and the
// objects' two (below `SerializeMap`) one field each, so each group is written once.
macro_rules! elements {
    ($($shape:ident :: $method:ident),*) => {$(
        impl ser::$shape for Compound<'_, bool> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.close();
                Ok(())
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, Object> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let start = self.writer.keys.len();
        key.serialize(key::KeyWriter(&mut self.writer.keys))?;
        let end = self.writer.keys.len();
        self.writer
            .begin_field(&mut self.state, Key::Kept { start, end })
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.writer.field_value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close();
        Ok(())
    }
}

macro_rules! fields {
    ($($shape:ident),*) => {$(
        impl ser::$shape for Compound<'_, Object> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Error> {
                self.close();
                Ok(())
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests;
