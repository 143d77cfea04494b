//! PLY (Stanford polygon format): ASCII, binary little-endian and binary big-endian. Reads the
//! `x y z` properties of the `vertex` element (other properties are skipped) and, for mesh
//! sampling, the `vertex_indices` lists of the `face` element. Header counts are untrusted: a
//! binary body too short for the declared records is refused before reading, records of no
//! properties are skipped without looping over their count, and memory is reserved only for as
//! many vertices as the body's bytes can hold.

use std::path::Path;

use deepemd_core::PointCloud;

use super::{cloud_from_coords, read_bytes, write_atomic};
use crate::error::{Error, Result};
use crate::header::capacity;
use crate::mesh::Mesh;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Scalar {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "char" | "int8" => Self::I8,
            "uchar" | "uint8" => Self::U8,
            "short" | "int16" => Self::I16,
            "ushort" | "uint16" => Self::U16,
            "int" | "int32" => Self::I32,
            "uint" | "uint32" => Self::U32,
            "float" | "float32" => Self::F32,
            "double" | "float64" => Self::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    fn decode(self, b: &[u8], little: bool) -> f64 {
        macro_rules! get {
            ($t:ty) => {{
                let arr = b[..std::mem::size_of::<$t>()].try_into().unwrap();
                (if little {
                    <$t>::from_le_bytes(arr)
                } else {
                    <$t>::from_be_bytes(arr)
                }) as f64
            }};
        }
        match self {
            Self::I8 => b[0] as i8 as f64,
            Self::U8 => b[0] as f64,
            Self::I16 => get!(i16),
            Self::U16 => get!(u16),
            Self::I32 => get!(i32),
            Self::U32 => get!(u32),
            Self::F32 => get!(f32),
            Self::F64 => get!(f64),
        }
    }
}

#[derive(Clone, Debug)]
enum Property {
    Scalar {
        name: String,
        ty: Scalar,
    },
    List {
        name: String,
        count: Scalar,
        item: Scalar,
    },
}

#[derive(Clone, Debug)]
struct Element {
    name: String,
    count: usize,
    properties: Vec<Property>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Encoding {
    Ascii,
    Binary { little: bool },
}

/// Reads the vertices of a PLY file as a cloud.
pub fn read_ply(path: &Path) -> Result<PointCloud> {
    let (vertices, _) = read_ply_parts(path)?;
    let coords = vertices.iter().flatten().copied().collect();
    cloud_from_coords(path, 3, coords, |i| format!("vertex {i}"))
}

/// Reads a PLY file's vertices and faces.
pub fn read_ply_mesh(path: &Path) -> Result<Mesh> {
    read_ply_parts(path).and_then(|(v, f)| Mesh::new(path, v, f))
}

type Parts = (Vec<[f64; 3]>, Vec<Vec<usize>>);

pub(super) fn read_ply_parts(path: &Path) -> Result<Parts> {
    let bytes = read_bytes(path)?;
    let fail = |m: String| Error::format(path, m);
    let (encoding, elements, body_start) = parse_header(path, &bytes)?;
    let body_len = bytes.len() - body_start;
    check_binary_sizes(path, encoding, &elements, body_len)?;
    let vertex_at = elements
        .iter()
        .position(|e| e.name == "vertex")
        .ok_or_else(|| fail("no 'vertex' element in the header".into()))?;
    let vertex = &elements[vertex_at];
    let xyz: Vec<usize> = ["x", "y", "z"]
        .iter()
        .map(|want| {
            vertex
                .properties
                .iter()
                .position(|p| matches!(p, Property::Scalar { name, .. } if name == want))
                .ok_or_else(|| {
                    fail(format!(
                        "the vertex element has no scalar property '{want}'"
                    ))
                })
        })
        .collect::<Result<_>>()?;

    let mut vertices = Vec::with_capacity(capacity(
        vertex.count,
        body_len,
        vertex.min_record_bytes(encoding),
    ));
    let mut faces = Vec::new();
    let mut reader = BodyReader {
        path,
        bytes: &bytes,
        pos: body_start,
        encoding,
        line: 0,
    };
    let mut values: Vec<Vec<f64>> = Vec::new();
    for (at, element) in elements.iter().enumerate() {
        if element.properties.is_empty() && encoding != Encoding::Ascii {
            // Its records occupy no bytes: nothing to read, however many the header declares.
            continue;
        }
        for index in 0..element.count {
            reader.start_record(&element.name, index)?;
            values.clear();
            for prop in &element.properties {
                match prop {
                    Property::Scalar { ty, .. } => {
                        values.push(vec![reader.value(*ty, &element.name, index)?])
                    }
                    Property::List { count, item, .. } => {
                        let k = reader.value(*count, &element.name, index)?;
                        if !((0.0..=1e6).contains(&k) && k.fract() == 0.0) {
                            return Err(fail(format!(
                                "{} {index}: list length {k} is not a valid count",
                                element.name
                            )));
                        }
                        let list = (0..k as usize)
                            .map(|_| reader.value(*item, &element.name, index))
                            .collect::<Result<Vec<f64>>>()?;
                        values.push(list);
                    }
                }
            }
            reader.end_record(&element.name, index)?;
            if at == vertex_at {
                vertices.push([values[xyz[0]][0], values[xyz[1]][0], values[xyz[2]][0]]);
            } else if element.name == "face" {
                let list = element
                    .properties
                    .iter()
                    .position(|p| matches!(p, Property::List { name, .. } if name == "vertex_indices" || name == "vertex_index"))
                    .ok_or_else(|| fail("the face element has no 'vertex_indices' list".into()))?;
                let idx = values[list]
                    .iter()
                    .map(|&v| {
                        let ok = v >= 0.0 && v.fract() == 0.0 && (v as usize) < vertex.count;
                        ok.then_some(v as usize)
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| fail(format!("face {index} has a vertex index out of range")))?;
                faces.push(idx);
            }
        }
    }
    Ok((vertices, faces))
}

impl Element {
    /// The fewest bytes one record can take: the sizes of its scalars and list counts in
    /// binary; a character and a separator per value in ASCII.
    fn min_record_bytes(&self, encoding: Encoding) -> usize {
        match encoding {
            Encoding::Ascii => 2 * self.properties.len(),
            Encoding::Binary { .. } => self
                .properties
                .iter()
                .map(|p| match p {
                    Property::Scalar { ty, .. } => ty.size(),
                    Property::List { count, .. } => count.size(),
                })
                .sum(),
        }
    }
}

/// In binary files every record takes a known minimum of bytes, so a header that declares more
/// records than the body can hold is refused before any is read. With scalars only, records have
/// one size and the error names the record the file ends in, as reading would.
fn check_binary_sizes(
    path: &Path,
    encoding: Encoding,
    elements: &[Element],
    body_len: usize,
) -> Result<()> {
    if encoding == Encoding::Ascii {
        return Ok(());
    }
    let mut need = 0usize;
    for e in elements {
        let min = e.min_record_bytes(encoding);
        if min == 0 {
            continue;
        }
        // `need <= body_len` holds: every earlier element fitted.
        let room = body_len - need;
        let fit = room / min;
        if e.count > fit {
            let fixed = e
                .properties
                .iter()
                .all(|p| matches!(p, Property::Scalar { .. }));
            let message = if fixed {
                format!("the file ends inside {} {fit} (truncated?)", e.name)
            } else {
                format!(
                    "element {} declares {} records of at least {min} bytes, but only {room} bytes remain (truncated?)",
                    e.name, e.count
                )
            };
            return Err(Error::format(path, message));
        }
        need += e.count * min;
    }
    Ok(())
}

fn parse_header(path: &Path, bytes: &[u8]) -> Result<(Encoding, Vec<Element>, usize)> {
    let fail = |m: String| Error::format(path, m);
    const END: &[u8] = b"end_header";
    let end = bytes
        .windows(END.len())
        .position(|w| w == END)
        .ok_or_else(|| {
            fail("no 'end_header' line: not a PLY file, or a truncated header".into())
        })?;
    let mut body_start = end + END.len();
    // The header ends with "end_header\n" (or "\r\n").
    if bytes.get(body_start) == Some(&b'\r') {
        body_start += 1;
    }
    if bytes.get(body_start) == Some(&b'\n') {
        body_start += 1;
    }
    let header = std::str::from_utf8(&bytes[..end])
        .map_err(|_| fail("the header is not ASCII text".into()))?;
    let mut lines = header.lines().map(str::trim);
    if lines.next() != Some("ply") {
        return Err(fail("does not start with 'ply'".into()));
    }
    let mut encoding = None;
    let mut elements: Vec<Element> = Vec::new();
    for line in lines {
        let t: Vec<&str> = line.split_whitespace().collect();
        match t.as_slice() {
            [] | ["comment", ..] | ["obj_info", ..] => {}
            ["format", fmt, _version] => {
                encoding = Some(match *fmt {
                    "ascii" => Encoding::Ascii,
                    "binary_little_endian" => Encoding::Binary { little: true },
                    "binary_big_endian" => Encoding::Binary { little: false },
                    other => return Err(fail(format!("unknown PLY format '{other}'"))),
                })
            }
            ["element", name @ ("vertex" | "face"), _]
                if elements.iter().any(|e| e.name == *name) =>
            {
                return Err(fail(format!("the header declares element '{name}' twice")));
            }
            ["element", name, count] => elements.push(Element {
                name: name.to_string(),
                count: count
                    .parse()
                    .map_err(|_| fail(format!("element {name}: '{count}' is not a count")))?,
                properties: Vec::new(),
            }),
            ["property", "list", count, item, name] => {
                let e = elements
                    .last_mut()
                    .ok_or_else(|| fail("a property before any element".into()))?;
                let ty = |s: &str| {
                    Scalar::parse(s).ok_or_else(|| fail(format!("unknown property type '{s}'")))
                };
                e.properties.push(Property::List {
                    name: name.to_string(),
                    count: ty(count)?,
                    item: ty(item)?,
                });
            }
            ["property", ty, name] => {
                let e = elements
                    .last_mut()
                    .ok_or_else(|| fail("a property before any element".into()))?;
                e.properties.push(Property::Scalar {
                    name: name.to_string(),
                    ty: Scalar::parse(ty)
                        .ok_or_else(|| fail(format!("unknown property type '{ty}'")))?,
                });
            }
            _ => return Err(fail(format!("unexpected header line '{line}'"))),
        }
    }
    let encoding = encoding.ok_or_else(|| fail("no 'format' line in the header".into()))?;
    Ok((encoding, elements, body_start))
}

struct BodyReader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
    encoding: Encoding,
    line: usize,
}

impl BodyReader<'_> {
    fn truncated(&self, element: &str, index: usize) -> Error {
        Error::format(
            self.path,
            format!("the file ends inside {element} {index} (truncated?)"),
        )
    }

    fn start_record(&mut self, element: &str, index: usize) -> Result<()> {
        if self.encoding == Encoding::Ascii {
            // Skip blank lines before the record.
            while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if self.pos >= self.bytes.len() {
                return Err(self.truncated(element, index));
            }
            self.line += 1;
        }
        Ok(())
    }

    fn end_record(&mut self, element: &str, index: usize) -> Result<()> {
        if self.encoding == Encoding::Ascii {
            while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
                if !self.bytes[self.pos].is_ascii_whitespace() {
                    return Err(Error::format(
                        self.path,
                        format!("{element} {index} has more values than the header declares"),
                    ));
                }
                self.pos += 1;
            }
        }
        Ok(())
    }

    fn value(&mut self, ty: Scalar, element: &str, index: usize) -> Result<f64> {
        match self.encoding {
            Encoding::Binary { little } => {
                let end = self.pos + ty.size();
                if end > self.bytes.len() {
                    return Err(self.truncated(element, index));
                }
                let v = ty.decode(&self.bytes[self.pos..end], little);
                self.pos = end;
                Ok(v)
            }
            Encoding::Ascii => {
                while self.pos < self.bytes.len()
                    && (self.bytes[self.pos] == b' '
                        || self.bytes[self.pos] == b'\t'
                        || self.bytes[self.pos] == b'\r')
                {
                    self.pos += 1;
                }
                let start = self.pos;
                while self.pos < self.bytes.len() && !self.bytes[self.pos].is_ascii_whitespace() {
                    self.pos += 1;
                }
                if start == self.pos {
                    return Err(Error::format(
                        self.path,
                        format!("{element} {index} has fewer values than the header declares"),
                    ));
                }
                let token = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("?");
                // Rust's parser reads "nan", "inf" and "-inf"; the cloud check then names them.
                token.parse::<f64>().map_err(|_| {
                    Error::format(
                        self.path,
                        format!("{element} {index}: '{token}' is not a number"),
                    )
                })
            }
        }
    }
}

/// Writes a binary little-endian PLY with `float x, y, z` per vertex, atomically.
/// Coordinates are rounded to `f32`; 2-D clouds get `z = 0`.
pub fn write_ply_binary(path: &Path, cloud: &PointCloud) -> Result<()> {
    let n = cloud.len();
    let mut out = format!(
        "ply\nformat binary_little_endian 1.0\ncomment written by deepemd\nelement vertex {n}\nproperty float x\nproperty float y\nproperty float z\nend_header\n"
    )
    .into_bytes();
    for p in cloud.points() {
        for d in 0..3 {
            let x = p.get(d).copied().unwrap_or(0.0) as f32;
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    write_atomic(path, &out)
}
