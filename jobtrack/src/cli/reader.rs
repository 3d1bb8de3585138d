//! Reading the elements of an input file one at a time, each with the line
//! it starts on.
//!
//! A file is a JSON array, or a sequence of JSON values separated by
//! whitespace: JSON lines, or a single (pretty-printed) object. The reader
//! only finds where each element begins and ends — strings, escapes and
//! brackets — and hands the element's text to serde_json, so that memory
//! holds one element at a time however long the file, and every error knows
//! its line: a syntax error the line of the fault, any other the line where
//! the element starts.

use std::io::{self, BufRead};

use jobtrack_core::{check_nesting, Error, Shape};
use serde_json::Value;

/// One element of the file.
#[derive(Debug)]
pub struct Element {
    /// 0-based position in the file, as the batch functions count elements.
    pub index: usize,
    /// 1-based line of its first character.
    pub line: u64,
    pub value: Value,
}

/// Why the next element could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Not JSON, at this place of the file. `element` is the element being
    /// read, `None` outside any (after the array, or a UTF-16 file).
    Syntax {
        line: u64,
        column: u64,
        element: Option<usize>,
        message: String,
    },
    /// JSON nested deeper than jobtrack takes (22023, naming the element
    /// and the field), found before parsing.
    Invalid {
        line: u64,
        error: Error,
    },
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing read yet.
    Start,
    /// Inside the top-level array; `first`: no element read yet.
    Array {
        first: bool,
    },
    /// Whitespace-separated values.
    Stream,
    Done,
}

/// Reads the elements of one input file.
pub struct Reader<R> {
    input: R,
    mode: Mode,
    /// Position of the next byte: 1-based line, 0-based column (the number
    /// of bytes already read on the line), as serde_json counts.
    line: u64,
    column: u64,
    /// Bytes consumed so far, for progress.
    offset: u64,
    next_index: usize,
    text: Vec<u8>,
    brackets: Vec<u8>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Ends a number, `true`, `false` or `null` (or garbage) read at the top
/// level of the file.
fn ends_scalar(b: u8) -> bool {
    is_space(b) || matches!(b, b',' | b':' | b'[' | b']' | b'{' | b'}' | b'"')
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R) -> Self {
        Reader {
            input,
            mode: Mode::Start,
            line: 1,
            column: 0,
            offset: 0,
            next_index: 0,
            text: Vec::new(),
            brackets: Vec::new(),
        }
    }

    /// Elements read so far.
    pub fn elements(&self) -> usize {
        self.next_index
    }

    /// Bytes of the file read so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.input.fill_buf()?.first().copied())
    }

    /// Consumes `b`, the byte just peeked.
    fn bump(&mut self, b: u8) {
        self.input.consume(1);
        self.offset += 1;
        if b == b'\n' {
            self.line += 1;
            self.column = 0;
        } else {
            self.column += 1;
        }
    }

    /// Skips whitespace; returns the next byte, not consumed.
    fn skip_space(&mut self) -> io::Result<Option<u8>> {
        loop {
            match self.peek()? {
                Some(b) if is_space(b) => self.bump(b),
                other => return Ok(other),
            }
        }
    }

    fn syntax(&self, element: Option<usize>, message: impl Into<String>) -> ReadError {
        ReadError::Syntax {
            line: self.line,
            // The column of the offending byte, 1-based.
            column: self.column + 1,
            element,
            message: message.into(),
        }
    }

    /// The byte order mark, then whether the file is an array.
    fn start(&mut self) -> Result<(), ReadError> {
        let head = self.input.fill_buf()?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            // Not part of the text: lines and columns start after it.
            self.input.consume(3);
            self.offset += 3;
        } else if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
            return Err(self.syntax(
                None,
                "the file is UTF-16 (it starts with a UTF-16 byte order mark); \
                 jobtrack reads UTF-8",
            ));
        }
        self.mode = match self.skip_space()? {
            None => Mode::Done,
            Some(b'[') => {
                self.bump(b'[');
                Mode::Array { first: true }
            }
            Some(_) => Mode::Stream,
        };
        Ok(())
    }

    /// The next element, `None` at the end of the file.
    pub fn next_element(&mut self) -> Result<Option<Element>, ReadError> {
        if self.mode == Mode::Start {
            self.start()?;
        }
        let index = self.next_index;
        match self.mode {
            Mode::Start | Mode::Done => return Ok(None),
            Mode::Stream => {
                if self.skip_space()?.is_none() {
                    self.mode = Mode::Done;
                    return Ok(None);
                }
            }
            Mode::Array { first } => {
                let mut next = self.skip_space()?;
                if !first {
                    match next {
                        Some(b',') => {
                            self.bump(b',');
                            next = self.skip_space()?;
                            if next == Some(b']') {
                                return Err(self.syntax(Some(index), "trailing comma"));
                            }
                        }
                        Some(b']') => {}
                        None => return Err(self.syntax(Some(index), "EOF while parsing a list")),
                        Some(_) => return Err(self.syntax(Some(index), "expected `,` or `]`")),
                    }
                }
                match next {
                    Some(b']') => {
                        self.bump(b']');
                        self.mode = Mode::Done;
                        if self.skip_space()?.is_some() {
                            return Err(self.syntax(None, "trailing characters after the array"));
                        }
                        return Ok(None);
                    }
                    None => return Err(self.syntax(Some(index), "EOF while parsing a list")),
                    Some(_) => self.mode = Mode::Array { first: false },
                }
            }
        }
        let (line, column) = (self.line, self.column);
        self.read_text(index)?;
        self.next_index += 1;
        let shape_error = |error: Error| ReadError::Invalid {
            line,
            error: with_element(error, index),
        };
        // serde_json refuses JSON nested deeper than 127 levels as a
        // syntax error; jobtrack refuses what is deeper than its limit
        // first, as the API does, naming the field.
        check_nesting(&self.text, Shape::Object).map_err(shape_error)?;
        let value = serde_json::from_slice(&self.text).map_err(|e| {
            // serde_json counts from the element's first byte.
            let (l, c) = (e.line() as u64, e.column() as u64);
            let (line, column) = if l <= 1 {
                (line, column + c)
            } else {
                (line + l - 1, c)
            };
            ReadError::Syntax {
                line,
                column,
                element: Some(index),
                message: serde_message(&e),
            }
        })?;
        // One value per line (or several, apart): `{…}x` is one bad
        // element, not two.
        if self.mode == Mode::Stream {
            if let Some(b) = self.peek()? {
                if !is_space(b) {
                    return Err(self.syntax(Some(index), "trailing characters"));
                }
            }
        }
        Ok(Some(Element { index, line, value }))
    }

    /// Reads the text of one value into `self.text`: an object or array up
    /// to its closing bracket (or the first bracket that does not match,
    /// for serde_json to report), a string, or a bare word.
    fn read_text(&mut self, index: usize) -> Result<(), ReadError> {
        self.text.clear();
        self.brackets.clear();
        let first = self.peek()?.expect("not at the end");
        if matches!(first, b']' | b'}' | b',' | b':') {
            return Err(self.syntax(Some(index), "expected value"));
        }
        // A bare word ends before its delimiter; everything else ends with
        // a byte of its own.
        let bare = !matches!(first, b'{' | b'[' | b'"');
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                // The end of the file inside the value: serde_json tells
                // what is missing.
                return Ok(());
            }
            let mut end = None;
            for (i, &b) in chunk.iter().enumerate() {
                if bare {
                    if ends_scalar(b) {
                        end = Some(i);
                        break;
                    }
                    continue;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if self.brackets.is_empty() {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => self.brackets.push(b),
                    b'}' | b']' => {
                        let opening = if b == b'}' { b'{' } else { b'[' };
                        if self.brackets.pop() != Some(opening) || self.brackets.is_empty() {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let taken = end.unwrap_or(chunk.len());
            self.text.extend_from_slice(&chunk[..taken]);
            self.input.consume(taken);
            self.offset += taken as u64;
            for &b in &self.text[self.text.len() - taken..] {
                if b == b'\n' {
                    self.line += 1;
                    self.column = 0;
                } else {
                    self.column += 1;
                }
            }
            if end.is_some() {
                return Ok(());
            }
        }
    }
}

/// serde_json's message without its position, which counts from the
/// element rather than the file.
fn serde_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// The error of an element-less check, naming the element.
fn with_element(error: Error, index: usize) -> Error {
    match error {
        Error::InvalidParameter {
            mut location,
            problem,
            accepted,
        } => {
            location.element = Some(index);
            Error::InvalidParameter {
                location,
                problem,
                accepted,
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str) -> Result<Vec<(usize, u64, Value)>, ReadError> {
        // A small buffer, so that elements span reads.
        let mut r = Reader::new(io::BufReader::with_capacity(7, text.as_bytes()));
        let mut out = Vec::new();
        while let Some(e) = r.next_element()? {
            out.push((e.index, e.line, e.value));
        }
        Ok(out)
    }

    fn syntax_at(text: &str) -> (u64, u64, Option<usize>, String) {
        match read_all(text) {
            Err(ReadError::Syntax {
                line,
                column,
                element,
                message,
            }) => (line, column, element, message),
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn arrays_lines_and_single_values() {
        let got = read_all("[\n {\"a\": \"]}\\\"\"},\n\n [1, {\"b\": [2]}] ,3 ]\n").unwrap();
        assert_eq!(
            got,
            vec![
                (0, 2, serde_json::json!({"a": "]}\""})),
                (1, 4, serde_json::json!([1, {"b": [2]}])),
                (2, 4, serde_json::json!(3)),
            ]
        );
        let got = read_all("\u{FEFF}{\"a\":1}\r\n\r\n\"s\" true\n{\n  \"b\": 2\n}").unwrap();
        assert_eq!(
            got,
            vec![
                (0, 1, serde_json::json!({"a": 1})),
                (1, 3, serde_json::json!("s")),
                (2, 3, serde_json::json!(true)),
                (3, 4, serde_json::json!({"b": 2})),
            ]
        );
        assert!(read_all("").unwrap().is_empty());
        assert!(read_all(" \n [ \n ] \n").unwrap().is_empty());
    }

    #[test]
    fn syntax_errors_have_file_positions() {
        // In the element, on its second line.
        let (line, column, element, message) = syntax_at("{}\n{\"a\":\n  tru }");
        assert_eq!((line, column, element), (3, 6, Some(1)), "{message}");
        // On the element's first line, after other text on that line.
        let (line, column, element, _) = syntax_at("[1,  {\"a\" 1}]");
        assert_eq!((line, column, element), (1, 11, Some(1)));
        assert_eq!(syntax_at("[1 2]").3, "expected `,` or `]`");
        assert_eq!(syntax_at("[1,]").3, "trailing comma");
        assert_eq!(syntax_at("[1,\n").0, 2);
        assert_eq!(syntax_at("[1] 2").2, None);
        assert_eq!(syntax_at("{} ]").2, Some(1));
        assert_eq!(syntax_at("{]").2, Some(0));
        assert_eq!(syntax_at("12x").2, Some(0));
        let (line, column, element, message) = syntax_at("1\n{}x");
        assert_eq!((line, column, element), (2, 3, Some(1)), "{message}");
        assert_eq!(message, "trailing characters");
        assert!(syntax_at("\u{FEFF}x").0 == 1);
        assert!(syntax_at("{\"a\": \"open").3.contains("EOF"));
        assert!(syntax_at("{\"a\": \"open\n")
            .3
            .contains("control character"));
    }

    #[test]
    fn too_deep_is_invalid_naming_the_field() {
        let deep = format!("\n{{\"k\": {}{}}}", "[".repeat(300), "]".repeat(300));
        match read_all(&deep) {
            Err(ReadError::Invalid { line, error }) => {
                assert_eq!(line, 2);
                assert_eq!(error.sqlstate(), "22023");
                assert!(
                    error.to_string().starts_with("element 0: field \"k\""),
                    "{error}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
