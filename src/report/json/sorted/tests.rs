//! The sorted writer against `serde_json`'s own `Value` tree, printed pretty, shape by shape.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::to_vec;

/// Fields out of key order, a flattened map among them, nesting.
#[derive(Serialize)]
struct Unsorted {
    zeta: u8,
    alpha: Option<&'static str>,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
    mid: Vec<Inner>,
    empty: Vec<u8>,
    none: BTreeMap<String, u8>,
}

#[derive(Serialize)]
struct Inner {
    y: f32,
    x: f64,
}

#[derive(Serialize)]
enum Shape {
    Dot,
    Wrapped(i64),
    Pair(u8, &'static str),
    Named { z: bool, a: char },
}

#[derive(Serialize)]
struct Twice {
    b: u8,
    a: u8,
}

/// A field given twice (a map key equal to a struct field): the last one is kept, as a
/// `Value` map keeps it.
struct Repeated;
impl Serialize for Repeated {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("k", &1)?;
        map.serialize_entry("a", &2)?;
        map.serialize_entry("k", &3)?;
        map.end()
    }
}

/// A map whose keys come in reverse order (a `BTreeMap` alone would give them sorted).
struct Reversed<'a>(BTreeMap<&'a str, u8>);
impl Serialize for Reversed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().rev())
    }
}

fn check(value: &impl Serialize) {
    let ours = String::from_utf8(to_vec(value).unwrap()).unwrap();
    let tree = serde_json::to_string_pretty(&serde_json::to_value(value).unwrap()).unwrap();
    assert_eq!(ours, tree);
}

#[test]
fn every_shape_prints_as_its_value_tree_does() {
    let extra: BTreeMap<String, serde_json::Value> = [
        (
            "beta".to_owned(),
            json!({"q": [1, {"b": 2, "a": 1}], "\u{1}ctl\"": "é\n"}),
        ),
        ("aardvark".to_owned(), json!(null)),
        ("zz".to_owned(), json!([])),
    ]
    .into();
    check(&Unsorted {
        zeta: 255,
        alpha: None,
        extra,
        mid: vec![
            Inner {
                y: 15.2,
                x: f64::NAN,
            },
            Inner {
                y: f32::INFINITY,
                x: -0.0,
            },
        ],
        empty: vec![],
        none: BTreeMap::new(),
    });
    check(&vec![
        Shape::Dot,
        Shape::Wrapped(-7),
        Shape::Pair(1, "b"),
        Shape::Named { z: true, a: 'é' },
    ]);
    check(&Twice { b: 1, a: 2 });
    check(&Repeated);
    check(&json!({}));
    // Keys alike in their first eight bytes, or in the zeros a short key is padded with.
    let alike: BTreeMap<&str, u8> = [
        ("abcdefgh1", 1),
        ("abcdefgh0", 2),
        ("a\u{0}", 3),
        ("a", 4),
        ("é", 5),
        ("", 6),
    ]
    .into();
    check(&Reversed(alike));
    check(&json!([[], {}, [[]], {"a": {}}]));
    check(&"plain \u{7f} \u{1b}[31m");
    check(&(1u64 << 63, i64::MIN, 0.1f64, 1e21f64));
    let by_state: BTreeMap<crate::health::State, usize> = [
        (crate::health::State::Dead, 2),
        (crate::health::State::Up, 1),
    ]
    .into();
    check(&by_state);
}
