//! One source per value list: every status, pipeline-mode and job-type list
//! and every length and range bound written in the current SQL sources
//! agrees with jobtrack-core.
//!
//! SQL cannot read Rust constants, so where a list must stay literal (a
//! CHECK; the predicate of a partial index, and a query that repeats it so
//! that the index applies) this test reads the SQL and compares. It scans
//! every `.sql` file under `sql/` except the frozen history, `sql/pg/upgrade/`
//! and `sql/sqlite/migrations/`, whose released files are never edited.
//! (That the newest migration state equals `sql/sqlite/schema.sql` is proved
//! by `a_file_migrated_from_every_version_has_the_schema_of_a_new_file` in
//! `sqlite_lib/tests/opening.rs`.)
//!
//! What it holds the SQL to:
//! - every `IN (…)` and `ARRAY[…]` of quoted literals, and every `'{a,b}'::`
//!   array constant, is exactly one list core knows: all statuses
//!   (`Status::ALL`), the active ones (`Status::is_active`), the terminal
//!   ones (`Status::is_terminal`), `PipelineMode::ALL`, the job types; or
//!   trigger events compared with `TG_OP`. Anything else, an incomplete list,
//!   an extra value, an unknown list, fails naming its file and line. A CHECK
//!   holds the whole domain of its column;
//! - a quoted status outside such a list stands in a comparison, a
//!   `CASE … WHEN` or a DEFAULT, and a literal compared with (or the
//!   default of) a `status`, `pipeline_mode` or `job_type` column is a value
//!   of that column's list;
//! - every `length(c)` / `char_length(c)` bound and `varchar(n)` type is the
//!   bound of `c` in core's `input::limits`, every CHECK bound of an integer
//!   column core bounds is core's; a table that bounds any of core's fields
//!   bounds every one of them it has, from both sides; each dialect bounds
//!   every field core bounds.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jobtrack_core::input::limits;
use jobtrack_core::{JobType, PipelineMode, Status};

// ------------------------------------------------------------ the sources

/// Released history: frozen, so not held to the current lists.
const FROZEN: [&str; 2] = ["pg/upgrade", "sqlite/migrations"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Dialect {
    Pg,
    Sqlite,
}

#[derive(Debug, Clone)]
struct Source {
    /// As shown in messages: `sql/pg/schema.sql`.
    path: String,
    text: String,
}

impl Source {
    fn new(path: &str, text: &str) -> Source {
        Source {
            path: path.to_owned(),
            text: text.to_owned(),
        }
    }

    fn dialect(&self) -> Dialect {
        if self.path.starts_with("sql/sqlite/") {
            Dialect::Sqlite
        } else {
            Dialect::Pg
        }
    }
}

fn sql_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sql")
}

/// Every `.sql` file under `sql`, at any depth, but the frozen history.
fn current_sources(sql: &Path) -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "sql") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(sql, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(sql).unwrap();
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if FROZEN.iter().any(|f| rel.starts_with(&format!("{f}/"))) {
                return None;
            }
            let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
            Some(Source {
                path: format!("sql/{rel}"),
                text,
            })
        })
        .collect()
}

// ------------------------------------------------------------ what core says

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    AllStatuses,
    ActiveStatuses,
    TerminalStatuses,
    PipelineModes,
    JobTypes,
    /// `TG_OP IN ('INSERT', 'UPDATE')` and the like: PostgreSQL's, not core's.
    TriggerEvents,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::AllStatuses => "all statuses",
            Class::ActiveStatuses => "the active statuses",
            Class::TerminalStatuses => "the terminal statuses",
            Class::PipelineModes => "the pipeline modes",
            Class::JobTypes => "the job types",
            Class::TriggerEvents => "trigger events",
        }
    }
}

const TRIGGER_EVENTS: [&str; 4] = ["INSERT", "UPDATE", "DELETE", "TRUNCATE"];

/// The variant names serde's derive knows for an enum (it hands them to
/// `deserialize_enum`): unlike a list written here, they include a variant
/// added to the enum later.
fn serde_variants<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};

    struct Probe<'a>(&'a mut Option<&'static [&'static str]>);

    impl<'de> de::Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not an enum"))
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            variants: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = Some(variants);
            Err(de::Error::custom("read the variants"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map struct identifier ignored_any
        }
    }

    let mut found = None;
    assert!(T::deserialize(Probe(&mut found)).is_err());
    found.expect("an enum")
}

/// Every variant of an enum, by its serde names (aliases map to their
/// variant), in SQL spelling.
fn declared<T>(spelling: fn(T) -> &'static str) -> BTreeSet<&'static str>
where
    T: serde::de::DeserializeOwned + FromStr,
    T::Err: std::fmt::Debug,
{
    serde_variants::<T>()
        .iter()
        .map(|name| spelling(name.parse::<T>().unwrap()))
        .collect()
}

/// The lists and bounds the SQL is compared with; built from jobtrack-core,
/// changed by the tests that show what a change in core would flag.
#[derive(Debug, Clone)]
struct Core {
    lists: Vec<(Class, BTreeSet<String>)>,
    /// Text field → most characters.
    text: BTreeMap<String, i64>,
    /// Integer field → smallest value.
    ints: BTreeMap<String, i64>,
}

impl Core {
    fn of_crate() -> Core {
        let set = |it: &mut dyn Iterator<Item = &'static str>| -> BTreeSet<String> {
            it.map(str::to_owned).collect()
        };
        let statuses = || Status::ALL.into_iter();
        Core {
            lists: vec![
                (Class::AllStatuses, set(&mut statuses().map(Status::as_str))),
                (
                    Class::ActiveStatuses,
                    set(&mut statuses().filter(|s| s.is_active()).map(Status::as_str)),
                ),
                (
                    Class::TerminalStatuses,
                    set(&mut statuses().filter(|s| s.is_terminal()).map(Status::as_str)),
                ),
                (
                    Class::PipelineModes,
                    set(&mut PipelineMode::ALL.into_iter().map(PipelineMode::as_str)),
                ),
                (
                    Class::JobTypes,
                    set(&mut declared::<JobType>(JobType::as_str).into_iter()),
                ),
            ],
            text: limits::TEXT
                .iter()
                .chain(&limits::ARGUMENTS)
                .map(|l| (l.field.to_owned(), l.max as i64))
                .collect(),
            ints: limits::INT
                .iter()
                .map(|l| (l.field.to_owned(), i64::from(l.min)))
                .collect(),
        }
    }

    fn list(&self, class: Class) -> &BTreeSet<String> {
        &self.lists.iter().find(|(c, _)| *c == class).unwrap().1
    }

    /// The values a column of this name may hold, when core has its list.
    fn domain(&self, column: &str) -> Option<&BTreeSet<String>> {
        match column {
            "status" => Some(self.list(Class::AllStatuses)),
            "pipeline_mode" => Some(self.list(Class::PipelineModes)),
            "job_type" => Some(self.list(Class::JobTypes)),
            _ => None,
        }
    }

    /// Core with one more status, as if `Status` had gained a variant.
    fn with_status(mut self, name: &str, active: bool) -> Core {
        for (class, values) in &mut self.lists {
            let gains = match class {
                Class::AllStatuses => true,
                Class::ActiveStatuses => active,
                Class::TerminalStatuses => !active,
                _ => false,
            };
            if gains {
                values.insert(name.to_owned());
            }
        }
        self
    }
}

// ------------------------------------------------------------ the lexer

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An identifier or keyword; unquoted ones lowercased.
    Word(String),
    /// A string constant, unescaped.
    Str(String),
    Num(String),
    /// `$1`, `?2`.
    Param(String),
    /// Punctuation and operators.
    Op(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
    /// Byte range in the source.
    start: usize,
    end: usize,
}

impl Token {
    fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(&self.tok, Tok::Op(o) if o == op)
    }
}

/// Splits SQL into tokens, skipping comments. Dollar quotes (`$$`,
/// `$sql$`) are dropped, not read as strings: in these sources they hold
/// function bodies, whose SQL must be scanned too.
fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < b.len() {
        let (start, start_line) = (i, line);
        let c = b[i];
        let next = b.get(i + 1).copied();
        let tok = match c {
            b'\n' => {
                line += 1;
                i += 1;
                continue;
            }
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if next == Some(b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if next == Some(b'*') => {
                let mut depth = 0;
                loop {
                    if i >= b.len() {
                        return Err(format!("{start_line}: unterminated comment"));
                    }
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        line += usize::from(b[i] == b'\n');
                        i += 1;
                    }
                }
                continue;
            }
            b'\'' => Tok::Str(quoted(b, &mut i, &mut line, false)?),
            b'"' => Tok::Word(quoted(b, &mut i, &mut line, false)?),
            b'$' | b'?' if next.is_some_and(|n| n.is_ascii_digit()) => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                Tok::Param(text[start..i].to_owned())
            }
            b'$' => {
                let tag = b[i + 1..]
                    .iter()
                    .take_while(|x| x.is_ascii_alphanumeric() || **x == b'_')
                    .count();
                if b.get(i + 1 + tag) == Some(&b'$') {
                    i += tag + 2;
                    continue;
                }
                i += 1;
                Tok::Op("$".to_owned())
            }
            b'0'..=b'9' => {
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                    i += 1;
                    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                        i += 1;
                    }
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                Tok::Num(text[start..i].to_owned())
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$')
                {
                    i += 1;
                }
                let word = text[start..i].to_ascii_lowercase();
                if word == "e" && b.get(i) == Some(&b'\'') {
                    Tok::Str(quoted(b, &mut i, &mut line, true)?)
                } else {
                    Tok::Word(word)
                }
            }
            _ => {
                let two = text.get(i..i + 2).unwrap_or("");
                if ["::", "<=", ">=", "<>", "!=", "==", "||"].contains(&two) {
                    i += 2;
                    Tok::Op(two.to_owned())
                } else {
                    let ch = text[i..].chars().next().unwrap();
                    i += ch.len_utf8();
                    Tok::Op(ch.to_string())
                }
            }
        };
        out.push(Token {
            tok,
            line: start_line,
            start,
            end: i,
        });
    }
    Ok(out)
}

/// A quoted string or identifier starting at `b[*i]`; a doubled quote is
/// one, and with `backslash` (E'…') a backslash escapes the next byte.
fn quoted(b: &[u8], i: &mut usize, line: &mut usize, backslash: bool) -> Result<String, String> {
    let (q, start_line) = (b[*i], *line);
    let mut value = Vec::new();
    *i += 1;
    loop {
        let Some(&c) = b.get(*i) else {
            return Err(format!("{start_line}: unterminated quote"));
        };
        *line += usize::from(c == b'\n');
        if c == q && b.get(*i + 1) == Some(&q) {
            value.push(q);
            *i += 2;
        } else if c == q {
            *i += 1;
            return Ok(String::from_utf8_lossy(&value).into_owned());
        } else if backslash && c == b'\\' && *i + 1 < b.len() {
            value.push(b[*i + 1]);
            *i += 2;
        } else {
            value.push(c);
            *i += 1;
        }
    }
}

// ------------------------------------------------------------ the scanner

#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    Column(String),
    Param(String),
    Other,
}

impl Subject {
    fn column(&self) -> Option<&str> {
        match self {
            Subject::Column(c) => Some(c),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `IN ('a', 'b')`
    In,
    /// `ARRAY['a', 'b']`
    Array,
    /// `'{a,b}'::text[]`
    ArrayConstant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Check,
    IndexPredicate,
    Statement,
}

#[derive(Debug, Clone)]
struct List {
    line: usize,
    form: Form,
    subject: Subject,
    values: Vec<String>,
    /// The bytes that spell the list: `(…)`, `[…]` or the constant.
    span: (usize, usize),
    place: Place,
    class: Option<Class>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum BoundKind {
    Length,
    Int,
}

#[derive(Debug, Clone)]
struct Bound {
    line: usize,
    kind: BoundKind,
    table: Option<String>,
    column: String,
    min: Option<i64>,
    max: Option<i64>,
    /// The bytes of the bounding expression (`length(x) BETWEEN 1 AND 64`);
    /// `None` for a `varchar(n)` type.
    span: Option<(usize, usize)>,
}

#[derive(Debug, Clone)]
struct Column {
    line: usize,
    table: String,
    name: String,
    /// Its type's first word.
    ty: String,
}

#[derive(Debug, Clone)]
struct Literal {
    line: usize,
    value: String,
    subject: Option<Subject>,
    span: (usize, usize),
}

#[derive(Debug, Clone)]
struct FileScan {
    path: String,
    dialect: Dialect,
    lists: Vec<List>,
    /// Quoted statuses outside lists, and literals compared with a column
    /// core has the list of.
    literals: Vec<Literal>,
    bounds: Vec<Bound>,
    columns: Vec<Column>,
    problems: Vec<String>,
}

/// An open `(` or `[`.
struct Frame {
    open: usize,
    check: bool,
    /// The table whose column list this is.
    table: Option<String>,
    /// In a column list: the column being defined.
    column: Option<String>,
}

const COMPARISONS: [&str; 4] = ["=", "<>", "!=", "=="];
const LENGTH_FUNCTIONS: [&str; 4] = ["length", "char_length", "character_length", "octet_length"];
const CONSTRAINT_WORDS: [&str; 7] = [
    "constraint",
    "primary",
    "unique",
    "check",
    "foreign",
    "exclude",
    "like",
];

fn at(t: &[Token], i: usize, back: usize) -> Option<&Token> {
    i.checked_sub(back).and_then(|j| t.get(j))
}

fn word_at(t: &[Token], i: usize, back: usize) -> Option<&str> {
    at(t, i, back).and_then(Token::word)
}

fn op_at(t: &[Token], i: usize, op: &str) -> bool {
    t.get(i).is_some_and(|x| x.is_op(op))
}

/// The operand that ends at `t[j]`.
fn subject_ending(t: &[Token], j: Option<usize>) -> Subject {
    match j.and_then(|j| t.get(j)).map(|x| &x.tok) {
        Some(Tok::Word(w)) => Subject::Column(w.clone()),
        Some(Tok::Param(p)) => Subject::Param(p.clone()),
        _ => Subject::Other,
    }
}

/// The operand that starts at `t[j]` (a column, maybe qualified).
fn subject_starting(t: &[Token], j: usize) -> Subject {
    let mut j = j;
    while word_at(t, j, 0).is_some() && op_at(t, j + 1, ".") && word_at(t, j + 2, 0).is_some() {
        j += 2;
    }
    match t.get(j).map(|x| &x.tok) {
        Some(Tok::Word(w)) if !op_at(t, j + 1, "(") => Subject::Column(w.clone()),
        Some(Tok::Param(p)) => Subject::Param(p.clone()),
        _ => Subject::Other,
    }
}

/// `x = ANY (` ending just before `t[i]`: `x`.
fn any_subject(t: &[Token], i: usize) -> Subject {
    let compared = at(t, i, 3).is_some_and(|x| COMPARISONS.iter().any(|c| x.is_op(c)));
    if at(t, i, 1).is_some_and(|x| x.is_op("(")) && word_at(t, i, 2) == Some("any") && compared {
        subject_ending(t, i.checked_sub(4))
    } else {
        Subject::Other
    }
}

enum Items {
    NotLiterals,
    /// The literals' token indices.
    Mixed(Vec<usize>),
    /// The literals' token indices, and the closing token's.
    Literals(Vec<usize>, usize),
}

/// The items of the `(…)` or `[…]` opened at `t[open]`: literals when each
/// is a quoted string, maybe cast (`'a'::text`).
fn literal_items(t: &[Token], open: usize) -> Items {
    let close = if t[open].is_op("(") { ")" } else { "]" };
    let mut items: Vec<Vec<usize>> = vec![Vec::new()];
    let mut depth = 0usize;
    let mut k = open + 1;
    while k < t.len() {
        let x = &t[k];
        if depth == 0 && x.is_op(close) {
            break;
        }
        if x.is_op("(") || x.is_op("[") {
            depth += 1;
        } else if x.is_op(")") || x.is_op("]") {
            let Some(d) = depth.checked_sub(1) else {
                return Items::NotLiterals;
            };
            depth = d;
        }
        if depth == 0 && x.is_op(",") {
            items.push(Vec::new());
        } else {
            items.last_mut().unwrap().push(k);
        }
        k += 1;
    }
    let literal = |item: &Vec<usize>| {
        matches!(item.first().map(|&j| &t[j].tok), Some(Tok::Str(_)))
            && (item.len() == 1
                || (t[item[1]].is_op("::")
                    && item[2..]
                        .iter()
                        .all(|&j| t[j].word().is_some() || t[j].is_op("[") || t[j].is_op("]"))))
    };
    let literals = items.iter().filter(|item| literal(item)).count();
    if literals == 0 {
        Items::NotLiterals
    } else if literals == items.len() {
        Items::Literals(items.iter().map(|item| item[0]).collect(), k)
    } else {
        Items::Mixed(items.iter().filter(|i| literal(i)).map(|i| i[0]).collect())
    }
}

/// `{a,b}`, the text of an array constant of bare words.
fn array_constant(s: &str) -> Option<Vec<String>> {
    let inner = s.strip_prefix('{')?.strip_suffix('}')?.trim();
    if inner.is_empty() {
        return None;
    }
    inner
        .split(',')
        .map(|e| {
            let e = e.trim();
            let e = e
                .strip_prefix('"')
                .and_then(|e| e.strip_suffix('"'))
                .unwrap_or(e);
            let bare = e
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            bare.then(|| e.to_owned())
        })
        .collect()
}

/// An integer constant at `t[i]`, maybe negated: its value and the index
/// after it.
fn int_at(t: &[Token], i: usize) -> Option<(i64, usize)> {
    match (t.get(i).map(|x| &x.tok), t.get(i + 1).map(|x| &x.tok)) {
        (Some(Tok::Op(m)), Some(Tok::Num(n))) if m == "-" => {
            n.parse().ok().map(|v: i64| (-v, i + 2))
        }
        (Some(Tok::Num(n)), _) => n.parse().ok().map(|v| (v, i + 1)),
        _ => None,
    }
}

type Range = (Option<i64>, Option<i64>);

/// `BETWEEN a AND b`, `<= n` and the like starting at `t[k]`: the range and
/// the index after it.
fn bound_after(t: &[Token], k: usize) -> Option<(Range, usize)> {
    if word_at(t, k, 0) == Some("between") {
        let (a, j) = int_at(t, k + 1)?;
        if word_at(t, j, 0) != Some("and") {
            return None;
        }
        let (b, end) = int_at(t, j + 1)?;
        return Some(((Some(a), Some(b)), end));
    }
    let Some(Tok::Op(op)) = t.get(k).map(|x| &x.tok) else {
        return None;
    };
    let (n, end) = int_at(t, k + 1)?;
    let range = match op.as_str() {
        "<=" => (None, Some(n)),
        "<" => (None, Some(n - 1)),
        ">=" => (Some(n), None),
        ">" => (Some(n + 1), None),
        "=" | "==" => (Some(n), Some(n)),
        _ => return None,
    };
    Some((range, end))
}

/// `n <= ` and the like ending just before `t[k]`: the range and the index
/// where it starts.
fn bound_before(t: &[Token], k: usize) -> Option<(Range, usize)> {
    let op = match at(t, k, 1).map(|x| &x.tok) {
        Some(Tok::Op(op)) => op.as_str(),
        _ => return None,
    };
    let n: i64 = match at(t, k, 2).map(|x| &x.tok) {
        Some(Tok::Num(n)) => n.parse().ok()?,
        _ => return None,
    };
    let range = match op {
        "<=" => (Some(n), None),
        "<" => (Some(n + 1), None),
        ">=" => (None, Some(n)),
        ">" => (None, Some(n - 1)),
        "=" | "==" => (Some(n), Some(n)),
        _ => return None,
    };
    Some((range, k - 2))
}

fn is_index(statement: &[Token]) -> bool {
    let w = |i: usize| statement.get(i).and_then(Token::word);
    w(0) == Some("create")
        && (w(1) == Some("index") || (w(1) == Some("unique") && w(2) == Some("index")))
}

/// `CREATE TABLE [IF NOT EXISTS] [schema.]name (` with `t[open]` its `(`.
fn table_opened(t: &[Token], open: usize) -> Option<String> {
    let name = word_at(t, open, 1)?;
    let mut j = open - 1;
    if at(t, j, 1).is_some_and(|x| x.is_op(".")) && word_at(t, j, 2).is_some() {
        j -= 2;
    }
    let table = match word_at(t, j, 1)? {
        "table" => true,
        "exists" => word_at(t, j, 4) == Some("table"),
        _ => false,
    };
    table.then(|| name.to_owned())
}

impl FileScan {
    fn new(src: &Source) -> FileScan {
        FileScan {
            path: src.path.clone(),
            dialect: src.dialect(),
            lists: Vec::new(),
            literals: Vec::new(),
            bounds: Vec::new(),
            columns: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, line: usize, what: impl std::fmt::Display) {
        self.problems.push(format!("{}:{line}: {what}", self.path));
    }
}

/// Where the token being read stands.
struct Here {
    i: usize,
    line: usize,
    place: Place,
    /// The table whose CREATE TABLE it is in.
    table: Option<String>,
}

/// One file's scan: each method reads one kind of construct at a token.
struct Scanner<'a> {
    core: &'a Core,
    t: Vec<Token>,
    /// Tokens that belong to a list already found.
    listed: Vec<bool>,
    stack: Vec<Frame>,
    out: FileScan,
}

impl Scanner<'_> {
    fn column_definition(&mut self, h: &Here, w: &str) {
        let t = &self.t;
        let Some(f) = self.stack.last_mut() else {
            return;
        };
        let starts_item = h.i == f.open + 1 || t[h.i - 1].is_op(",");
        if let (Some(table), true) = (&f.table, starts_item) {
            if !CONSTRAINT_WORDS.contains(&w) {
                f.column = Some(w.to_owned());
                self.out.columns.push(Column {
                    line: h.line,
                    table: table.clone(),
                    name: w.to_owned(),
                    ty: word_at(t, h.i + 1, 0).unwrap_or("").to_owned(),
                });
            }
        }
    }

    /// `IN (…)` and `ARRAY[…]`.
    fn list(&mut self, h: &Here, w: &str) {
        let (t, i) = (&self.t, h.i);
        let form = match w {
            "in" if op_at(t, i + 1, "(") => Form::In,
            "array" if op_at(t, i + 1, "[") => Form::Array,
            _ => return,
        };
        match literal_items(t, i + 1) {
            Items::NotLiterals => {}
            Items::Mixed(items) => {
                for k in items {
                    self.listed[k] = true;
                }
                self.out.problem(
                    h.line,
                    "a list mixes quoted literals with other expressions: write it as \
                     literals only, so that it can be compared with core",
                );
            }
            Items::Literals(items, close) => {
                let values = items
                    .iter()
                    .map(|&k| match &t[k].tok {
                        Tok::Str(s) => s.clone(),
                        _ => unreachable!(),
                    })
                    .collect();
                for k in items {
                    self.listed[k] = true;
                }
                let subject = match form {
                    Form::In if word_at(t, i, 1) == Some("not") => {
                        subject_ending(t, i.checked_sub(2))
                    }
                    Form::In => subject_ending(t, i.checked_sub(1)),
                    _ => any_subject(t, i),
                };
                let span = (t[i + 1].start, t[close].end);
                self.push_list(h, form, subject, values, span);
            }
        }
    }

    fn push_list(
        &mut self,
        h: &Here,
        form: Form,
        subject: Subject,
        values: Vec<String>,
        span: (usize, usize),
    ) {
        self.out.lists.push(List {
            line: h.line,
            form,
            subject,
            values,
            span,
            place: h.place,
            class: None,
        });
    }

    /// `length(c) BETWEEN 1 AND 64`, `char_length(c) <= 64`, `1 <= length(c)`.
    fn length_bound(&mut self, h: &Here, w: &str) {
        let (t, i) = (&self.t, h.i);
        if !LENGTH_FUNCTIONS.contains(&w) || !op_at(t, i + 1, "(") {
            return;
        }
        let mut j = i + 2;
        while word_at(t, j, 0).is_some() && op_at(t, j + 1, ".") {
            j += 2;
        }
        let (Some(column), true) = (word_at(t, j, 0), op_at(t, j + 1, ")")) else {
            return;
        };
        let found = bound_after(t, j + 2)
            .map(|(r, end)| (r, t[i].start, t[end - 1].end))
            .or_else(|| bound_before(t, i).map(|(r, start)| (r, t[start].start, t[j + 1].end)));
        let Some(((min, max), from, to)) = found else {
            return;
        };
        if w == "octet_length" {
            self.out.problem(
                h.line,
                format!(
                    "bounds the bytes of {column}; jobtrack-core bounds characters (use \
                     char_length or length)"
                ),
            );
        }
        self.out.bounds.push(Bound {
            line: h.line,
            kind: BoundKind::Length,
            table: h.table.clone(),
            column: column.to_owned(),
            min,
            max,
            span: Some((from, to)),
        });
    }

    /// `varchar(64)` and the other types with a length.
    fn typed_length(&mut self, h: &Here, w: &str) {
        let (t, i) = (&self.t, h.i);
        let open = match w {
            "varchar" | "nvarchar" | "bpchar" | "nchar" => i + 1,
            // SQLite's char(n) is a function.
            "char" if self.out.dialect == Dialect::Pg => i + 1,
            "character" if word_at(t, i + 1, 0) == Some("varying") => i + 2,
            "character" => i + 1,
            _ => return,
        };
        if !op_at(t, open, "(") || !op_at(t, open + 2, ")") {
            return;
        }
        let Some((n, _)) = int_at(t, open + 1) else {
            return;
        };
        let column = if at(t, i, 1).is_some_and(|x| x.is_op("::")) {
            subject_ending(t, i.checked_sub(2))
                .column()
                .map(str::to_owned)
        } else {
            self.stack.last().and_then(|f| f.column.clone())
        };
        if self.out.dialect == Dialect::Sqlite {
            self.out.problem(
                h.line,
                format!(
                    "SQLite does not enforce the length of {w}({n}): write CHECK \
                     (length(column) BETWEEN 1 AND {n})"
                ),
            );
        } else if let Some(column) = column {
            self.out.bounds.push(Bound {
                line: h.line,
                kind: BoundKind::Length,
                table: h.table.clone(),
                column,
                min: None,
                max: Some(n),
                span: None,
            });
        } else {
            self.out.problem(
                h.line,
                format!("{w}({n}) bounds a length this test cannot attribute to a column"),
            );
        }
    }

    /// In a CHECK: `total_steps >= 0`, `total_steps BETWEEN 0 AND 2147483647`
    /// on a column core bounds.
    fn int_bound(&mut self, h: &Here, w: &str) {
        let (t, i) = (&self.t, h.i);
        if h.place != Place::Check || !self.core.ints.contains_key(w) || op_at(t, i + 1, "(") {
            return;
        }
        let found = bound_after(t, i + 1)
            .map(|(r, end)| (r, t[i].start, t[end - 1].end))
            .or_else(|| bound_before(t, i).map(|(r, start)| (r, t[start].start, t[i].end)));
        if let Some(((min, max), from, to)) = found {
            self.out.bounds.push(Bound {
                line: h.line,
                kind: BoundKind::Int,
                table: h.table.clone(),
                column: w.to_owned(),
                min,
                max,
                span: Some((from, to)),
            });
        }
    }

    /// A quoted string not in a list found already: an array constant
    /// (`'{a,b}'::text[]`), a list of its own, or a single literal.
    fn string(&mut self, h: &Here, s: &str) {
        if let Some(values) = array_constant(s).filter(|_| op_at(&self.t, h.i + 1, "::")) {
            self.listed[h.i] = true;
            let subject = any_subject(&self.t, h.i);
            let span = (self.t[h.i].start, self.t[h.i].end);
            self.push_list(h, Form::ArrayConstant, subject, values, span);
        } else {
            self.literal(h, s);
        }
    }

    fn literal(&mut self, h: &Here, s: &str) {
        let (t, i) = (&self.t, h.i);
        let compared =
            |x: Option<&Token>| x.is_some_and(|x| COMPARISONS.iter().any(|c| x.is_op(c)));
        let subject = if word_at(t, i, 1) == Some("default") {
            let column = self.stack.last().and_then(|f| f.column.clone());
            Some(column.map_or(Subject::Other, Subject::Column))
        } else if compared(at(t, i, 1)) || word_at(t, i, 1) == Some("is") {
            Some(subject_ending(t, i.checked_sub(2)))
        } else if word_at(t, i, 1) == Some("not") && word_at(t, i, 2) == Some("is") {
            Some(subject_ending(t, i.checked_sub(3)))
        } else if compared(t.get(i + 1)) {
            Some(subject_starting(t, i + 2))
        } else if word_at(t, i, 1) == Some("when") {
            Some(Subject::Other)
        } else {
            None
        };
        let core = self.core;
        let domain = subject
            .as_ref()
            .and_then(Subject::column)
            .and_then(|c| core.domain(c).map(|d| (c, d)));
        if let Some((column, domain)) = domain {
            if !domain.contains(s) {
                self.out.problem(
                    h.line,
                    format!(
                        "'{s}' is not a value of {column} (jobtrack-core: {})",
                        join(domain)
                    ),
                );
            }
        }
        let status = core.list(Class::AllStatuses).contains(s);
        if status && subject.is_none() {
            self.out.problem(
                h.line,
                format!(
                    "the status '{s}' stands outside a list, a comparison, a CASE … WHEN and a \
                     DEFAULT, where this test cannot classify it"
                ),
            );
        }
        if status || domain.is_some() {
            self.out.literals.push(Literal {
                line: h.line,
                value: s.to_owned(),
                subject,
                span: (t[i].start, t[i].end),
            });
        }
    }
}

/// Finds the lists, literals, bounds and column definitions of one file,
/// and compares each with core on its own.
fn scan(src: &Source, core: &Core) -> FileScan {
    let mut out = FileScan::new(src);
    let t = match tokenize(&src.text) {
        Ok(t) => t,
        Err(e) => {
            out.problems.push(format!("{}:{e}", src.path));
            return out;
        }
    };
    let mut s = Scanner {
        core,
        listed: vec![false; t.len()],
        t,
        stack: Vec::new(),
        out,
    };
    let mut statement = 0;
    for i in 0..s.t.len() {
        let place = if s.stack.iter().any(|f| f.check) {
            Place::Check
        } else if is_index(&s.t[statement..]) {
            Place::IndexPredicate
        } else {
            Place::Statement
        };
        let here = Here {
            i,
            line: s.t[i].line,
            place,
            table: s.stack.iter().rev().find_map(|f| f.table.clone()),
        };
        match s.t[i].tok.clone() {
            Tok::Op(op) => match op.as_str() {
                "(" | "[" => s.stack.push(Frame {
                    open: i,
                    check: word_at(&s.t, i, 1) == Some("check"),
                    table: if op == "(" {
                        table_opened(&s.t, i)
                    } else {
                        None
                    },
                    column: None,
                }),
                ")" | "]" => {
                    s.stack.pop();
                }
                ";" => statement = i + 1,
                _ => {}
            },
            Tok::Word(w) => {
                s.column_definition(&here, &w);
                s.list(&here, &w);
                s.length_bound(&here, &w);
                s.typed_length(&here, &w);
                s.int_bound(&here, &w);
            }
            Tok::Str(v) if !s.listed[i] => s.string(&here, &v),
            _ => {}
        }
    }
    let mut out = s.out;
    for l in &mut out.lists {
        match classify(l, core) {
            Ok(class) => l.class = Some(class),
            Err(e) => out.problems.push(format!("{}:{}: {e}", out.path, l.line)),
        }
    }
    for b in &out.bounds {
        if let Some(problem) = compare_bound(b, core) {
            out.problems
                .push(format!("{}:{}: {problem}", out.path, b.line));
        }
    }
    out
}

fn join<'a>(values: impl IntoIterator<Item = &'a String>) -> String {
    values
        .into_iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which list core knows `l` is, or why it is none.
fn classify(l: &List, core: &Core) -> Result<Class, String> {
    let set: BTreeSet<String> = l.values.iter().cloned().collect();
    let shown = format!("({})", join(&l.values));
    if set.len() != l.values.len() {
        return Err(format!("{shown} names a value twice"));
    }
    let events = l.subject.column() == Some("tg_op")
        && set.iter().all(|v| TRIGGER_EVENTS.contains(&v.as_str()));
    let class = core
        .lists
        .iter()
        .find(|(_, values)| *values == set)
        .map(|(c, _)| *c)
        .or(events.then_some(Class::TriggerEvents));
    let Some(class) = class else {
        // The list it was most likely meant to be: the fewest edits away.
        let (closest, values) = core
            .lists
            .iter()
            .min_by_key(|(_, v)| v.symmetric_difference(&set).count())
            .unwrap();
        if values.is_disjoint(&set) {
            return Err(format!(
                "{shown} is no list jobtrack-core knows, and shares no value with one"
            ));
        }
        let missing: Vec<_> = values.difference(&set).collect();
        let extra: Vec<_> = set.difference(values).collect();
        let mut why = Vec::new();
        if !missing.is_empty() {
            why.push(format!("lacks {}", join(missing)));
        }
        if !extra.is_empty() {
            why.push(format!("has {} too", join(extra)));
        }
        return Err(format!(
            "{shown} is no list jobtrack-core knows; next to {} it {}",
            closest.name(),
            why.join(" and ")
        ));
    };
    use Class::*;
    let expected: &[Class] = match (l.place, l.subject.column()) {
        (Place::Check, Some("status")) => &[AllStatuses],
        (_, Some("status")) => &[AllStatuses, ActiveStatuses, TerminalStatuses],
        (_, Some("pipeline_mode")) => &[PipelineModes],
        (_, Some("job_type")) => &[JobTypes],
        (_, Some("tg_op")) => &[TriggerEvents],
        // A CHECK admits a whole domain.
        (Place::Check, _) => &[AllStatuses, PipelineModes, JobTypes],
        _ => &[
            AllStatuses,
            ActiveStatuses,
            TerminalStatuses,
            PipelineModes,
            JobTypes,
        ],
    };
    if !expected.contains(&class) {
        let subject = match &l.subject {
            Subject::Column(c) => c.clone(),
            Subject::Param(p) => p.clone(),
            Subject::Other => "an expression".to_owned(),
        };
        let place = if l.place == Place::Check {
            "a CHECK on "
        } else {
            ""
        };
        return Err(format!(
            "{shown}, {place}{subject}, is {}; expected {}",
            class.name(),
            expected
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    Ok(class)
}

fn compare_bound(b: &Bound, core: &Core) -> Option<String> {
    let c = &b.column;
    match b.kind {
        BoundKind::Length => {
            let Some(&max) = core.text.get(c) else {
                return Some(format!(
                    "bounds the length of {c}, which jobtrack-core does not bound: add it to \
                     core's input::limits"
                ));
            };
            if b.min.is_some_and(|m| m != 1) {
                return Some(format!(
                    "lets {c} have at least {} characters; jobtrack-core: 1",
                    b.min.unwrap()
                ));
            }
            if b.max.is_some_and(|m| m != max) {
                return Some(format!(
                    "lets {c} have {} characters; jobtrack-core's limits: {max}",
                    b.max.unwrap()
                ));
            }
        }
        BoundKind::Int => {
            let min = core.ints[c];
            if b.min.is_some_and(|m| m != min) {
                return Some(format!(
                    "bounds {c} from {}; jobtrack-core's limits: from {min}",
                    b.min.unwrap()
                ));
            }
            if b.max.is_some_and(|m| m != i64::from(i32::MAX)) {
                return Some(format!(
                    "bounds {c} to {}; jobtrack-core: to {}",
                    b.max.unwrap(),
                    i32::MAX
                ));
            }
        }
    }
    None
}

/// Per dialect: a table that bounds any field core bounds bounds every one
/// it has, from both sides; every field core bounds is bounded somewhere.
fn coverage(files: &[FileScan], core: &Core) -> Vec<String> {
    let mut problems = Vec::new();
    for dialect in [Dialect::Pg, Dialect::Sqlite] {
        let files: Vec<&FileScan> = files.iter().filter(|f| f.dialect == dialect).collect();
        if files.is_empty() {
            continue;
        }
        let mut merged: BTreeMap<(&str, &str, BoundKind), Range> = BTreeMap::new();
        for b in files.iter().flat_map(|f| &f.bounds) {
            if let Some(table) = &b.table {
                let e = merged
                    .entry((table.as_str(), b.column.as_str(), b.kind))
                    .or_default();
                e.0 = e.0.or(b.min);
                e.1 = e.1.or(b.max);
            }
        }
        let bounding: BTreeSet<&str> = merged.keys().map(|k| k.0).collect();
        for f in &files {
            for c in f
                .columns
                .iter()
                .filter(|c| bounding.contains(c.table.as_str()))
            {
                let at = format!("{}:{}: {}.{}", f.path, c.line, c.table, c.name);
                if let Some(max) = core.text.get(&c.name) {
                    match merged.get(&(c.table.as_str(), c.name.as_str(), BoundKind::Length)) {
                        Some((Some(_), Some(_))) => {}
                        Some((None, _)) => problems.push(format!(
                            "{at} takes the empty string, which jobtrack-core refuses"
                        )),
                        Some((_, None)) | None => problems.push(format!(
                            "{at} has no length bound; jobtrack-core's limits: 1 to {max} characters"
                        )),
                    }
                }
                if let Some(min) = core.ints.get(&c.name) {
                    let bound = merged.get(&(c.table.as_str(), c.name.as_str(), BoundKind::Int));
                    if bound.is_none_or(|r| r.0.is_none()) {
                        problems.push(format!(
                            "{at} has no lower bound; jobtrack-core's limits: from {min}"
                        ));
                    }
                    let typed = dialect == Dialect::Pg
                        && ["integer", "int", "int4"].contains(&c.ty.as_str());
                    if !typed && bound.is_none_or(|r| r.1.is_none()) {
                        problems.push(format!(
                            "{at} has no upper bound; jobtrack-core reads it as a 32-bit integer"
                        ));
                    }
                }
            }
        }
        for field in core.text.keys().chain(core.ints.keys()) {
            if !merged.keys().any(|k| k.1 == field) {
                problems.push(format!(
                    "{dialect:?}: no table bounds {field}, which jobtrack-core bounds"
                ));
            }
        }
    }
    problems
}

struct Report {
    files: Vec<FileScan>,
    /// Each finding that disagrees with core, as `file:line: why`.
    problems: Vec<String>,
    /// Bounds core has that some table lacks.
    coverage: Vec<String>,
}

impl Report {
    fn lists(&self) -> impl Iterator<Item = (&FileScan, &List)> {
        self.files
            .iter()
            .flat_map(|f| f.lists.iter().map(move |l| (f, l)))
    }

    fn all_problems(&self) -> Vec<String> {
        self.problems
            .iter()
            .chain(&self.coverage)
            .cloned()
            .collect()
    }

    /// Per file: what was found.
    fn summary(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let mut classes: BTreeMap<&str, usize> = BTreeMap::new();
            for l in &f.lists {
                *classes
                    .entry(l.class.map_or("unclassified", Class::name))
                    .or_default() += 1;
            }
            let count = |k| f.bounds.iter().filter(|b| b.kind == k).count();
            out.push_str(&format!(
                "{}: {} lists{}, {} literals, {} length bounds, {} integer bounds\n",
                f.path,
                f.lists.len(),
                if classes.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        classes
                            .iter()
                            .map(|(c, n)| format!("{n} {c}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                f.literals.len(),
                count(BoundKind::Length),
                count(BoundKind::Int)
            ));
        }
        out
    }
}

fn check(sources: &[Source], core: &Core) -> Report {
    report(sources.iter().map(|s| scan(s, core)).collect(), core)
}

fn report(files: Vec<FileScan>, core: &Core) -> Report {
    let problems = files.iter().flat_map(|f| f.problems.clone()).collect();
    let coverage = coverage(&files, core);
    Report {
        files,
        problems,
        coverage,
    }
}

fn check_sql(sql: &str) -> Report {
    check(&[Source::new("sql/pg/x.sql", sql)], &Core::of_crate())
}

// ------------------------------------------------------------ the real files

#[test]
fn every_value_list_and_bound_in_sql_agrees_with_core() {
    let sources = current_sources(&sql_dir());
    let report = check(&sources, &Core::of_crate());
    println!("{}", report.summary());
    let problems = report.all_problems();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    // Not vacuous: in each dialect the CHECKs and the partial indexes that
    // must be there were found.
    for dialect in [Dialect::Pg, Dialect::Sqlite] {
        let found: BTreeSet<(Class, bool)> = report
            .lists()
            .filter(|(f, _)| f.dialect == dialect)
            .map(|(_, l)| (l.class.unwrap(), l.place == Place::Check))
            .collect();
        for class in [Class::AllStatuses, Class::PipelineModes, Class::JobTypes] {
            assert!(
                found.contains(&(class, true)),
                "{dialect:?}: no CHECK of {}",
                class.name()
            );
        }
        for class in [Class::ActiveStatuses, Class::TerminalStatuses] {
            assert!(
                found.contains(&(class, false)),
                "{dialect:?}: no list of {}",
                class.name()
            );
        }
        let bounds: BTreeSet<&str> = report
            .files
            .iter()
            .filter(|f| f.dialect == dialect)
            .flat_map(|f| f.bounds.iter().map(|b| b.column.as_str()))
            .collect();
        let core = Core::of_crate();
        assert_eq!(
            bounds,
            core.text
                .keys()
                .chain(core.ints.keys())
                .map(String::as_str)
                .collect(),
            "{dialect:?}"
        );
    }
}

#[test]
fn a_new_variant_of_a_core_enum_cannot_slip_past() {
    // Status::ALL is every declared variant, once, and each variant is
    // either active or terminal.
    let statuses = declared::<Status>(Status::as_str);
    let all: BTreeSet<&str> = Status::ALL.into_iter().map(Status::as_str).collect();
    assert_eq!(statuses, all, "Status::ALL against the declared variants");
    assert_eq!(Status::ALL.len(), all.len());
    for s in Status::ALL {
        assert!(s.is_active() != s.is_terminal(), "{s}");
    }
    assert!(Status::ALL.iter().any(|s| s.is_active()));
    assert!(Status::ALL.iter().any(|s| s.is_terminal()));
    let modes = declared::<PipelineMode>(PipelineMode::as_str);
    let mode_list: BTreeSet<&str> = PipelineMode::ALL
        .into_iter()
        .map(PipelineMode::as_str)
        .collect();
    assert_eq!(
        modes, mode_list,
        "PipelineMode::ALL against the declared variants"
    );
    // Every CHECK of the status column holds exactly Status::ALL.len()
    // values, so a status added to core fails here until every CHECK has
    // it (what the lists themselves would flag is shown below).
    let report = check(&current_sources(&sql_dir()), &Core::of_crate());
    let checks: Vec<_> = report
        .lists()
        .filter(|(_, l)| l.place == Place::Check && l.subject.column() == Some("status"))
        .collect();
    assert!(checks.len() >= 2, "{checks:?}");
    for (f, l) in checks {
        assert_eq!(l.values.len(), Status::ALL.len(), "{}:{}", f.path, l.line);
    }
}

#[test]
fn a_status_added_to_core_flags_every_list_it_belongs_in() {
    let sources = current_sources(&sql_dir());
    let now = check(&sources, &Core::of_crate());
    let count = |class| now.lists().filter(|(_, l)| l.class == Some(class)).count();
    for (active, class) in [
        (true, Class::ActiveStatuses),
        (false, Class::TerminalStatuses),
    ] {
        let core = Core::of_crate().with_status("paused", active);
        let report = check(&sources, &core);
        let expected = count(Class::AllStatuses) + count(class);
        assert!(expected >= 4);
        assert_eq!(
            report.problems.len(),
            expected,
            "active: {active}\n{}",
            report.problems.join("\n")
        );
        for p in &report.problems {
            assert!(p.contains("lacks 'paused'"), "{p}");
        }
    }
}

#[test]
fn a_limit_changed_in_core_flags_every_bound_of_it() {
    let sources = current_sources(&sql_dir());
    let now = check(&sources, &Core::of_crate());
    let bounds_of = |field: &str| {
        now.files
            .iter()
            .flat_map(|f| &f.bounds)
            .filter(|b| b.column == field)
            .count()
    };
    let mut core = Core::of_crate();
    *core.text.get_mut("job_id").unwrap() += 1;
    let report = check(&sources, &core);
    assert!(bounds_of("job_id") >= 4);
    assert_eq!(
        report.problems.len(),
        bounds_of("job_id"),
        "{}",
        report.problems.join("\n")
    );
    assert!(report
        .problems
        .iter()
        .all(|p| p.contains("jobtrack-core's limits: 65")));

    let mut core = Core::of_crate();
    *core.ints.get_mut("total_combinations").unwrap() = 0;
    let report = check(&sources, &core);
    assert!(bounds_of("total_combinations") >= 2);
    assert_eq!(report.problems.len(), bounds_of("total_combinations"));

    // A bound core drops is a bound core no longer knows of.
    let mut core = Core::of_crate();
    core.text.remove("parent_experiment_id");
    let report = check(&sources, &core);
    assert_eq!(report.problems.len(), bounds_of("parent_experiment_id"));
    assert!(report.problems.iter().all(|p| p.contains("does not bound")));
}

/// The problems once `span` of the file `path` reads `with`: that file
/// rescanned, the scans of the others reused.
fn problems_after_edit(
    sources: &[Source],
    report: &Report,
    path: &str,
    span: (usize, usize),
    with: &str,
    core: &Core,
) -> Vec<String> {
    assert!(sources.iter().any(|s| s.path == path), "{path}");
    let files = sources
        .iter()
        .zip(&report.files)
        .map(|(s, f)| {
            if s.path == path {
                let text = format!("{}{with}{}", &s.text[..span.0], &s.text[span.1..]);
                scan(&Source::new(path, &text), core)
            } else {
                f.clone()
            }
        })
        .collect();
    self::report(files, core).all_problems()
}

fn spelled(l: &List, values: &[String]) -> String {
    match l.form {
        Form::In => format!("({})", join(values)),
        Form::Array => format!("[{}]", join(values)),
        Form::ArrayConstant => format!("'{{{}}}'", values.join(",")),
    }
}

/// Each real list, edited one way at a time, fails at its own line.
#[test]
fn any_real_list_with_a_value_missing_or_added_fails_at_its_line() {
    let sources = current_sources(&sql_dir());
    let core = Core::of_crate();
    let report = check(&sources, &core);
    let mut edits = 0;
    for (f, l) in report.lists() {
        let at = format!("{}:{}: ", f.path, l.line);
        let set: BTreeSet<&String> = l.values.iter().collect();
        // A value from another list (a status among the modes, say).
        let stray = core
            .lists
            .iter()
            .flat_map(|(_, v)| v)
            .find(|v| !set.contains(v))
            .unwrap()
            .clone();
        let mut variants = vec![[l.values.clone(), vec![stray]].concat()];
        // Trigger events are any subset of theirs.
        if l.values.len() > 1 && l.class != Some(Class::TriggerEvents) {
            variants.push(l.values[1..].to_vec());
            variants.push(l.values[..l.values.len() - 1].to_vec());
        }
        let mut misspelt = l.values.clone();
        misspelt[0].push('s');
        variants.push(misspelt);
        for values in variants {
            let with = spelled(l, &values);
            let problems = problems_after_edit(&sources, &report, &f.path, l.span, &with, &core);
            assert_eq!(problems.len(), 1, "{at}{values:?}\n{}", problems.join("\n"));
            assert!(problems[0].starts_with(&at), "{at}: {}", problems[0]);
            edits += 1;
        }
    }
    assert!(edits >= 4 * 20, "{edits}");
}

/// Each real literal compared with a column core has the list of, changed
/// to a value not in that list, fails at its line.
#[test]
fn any_real_literal_changed_to_a_non_value_fails_at_its_line() {
    let sources = current_sources(&sql_dir());
    let core = Core::of_crate();
    let report = check(&sources, &core);
    let mut edits = 0;
    for f in &report.files {
        for lit in &f.literals {
            if lit
                .subject
                .as_ref()
                .and_then(Subject::column)
                .and_then(|c| core.domain(c))
                .is_none()
            {
                continue;
            }
            let with = format!("'{}s'", lit.value);
            let problems = problems_after_edit(&sources, &report, &f.path, lit.span, &with, &core);
            let at = format!("{}:{}: ", f.path, lit.line);
            assert_eq!(problems.len(), 1, "{at}\n{}", problems.join("\n"));
            assert!(problems[0].starts_with(&at), "{at}: {}", problems[0]);
            edits += 1;
        }
    }
    assert!(edits >= 6, "{edits}");
}

/// Each real bound, edited, fails at its line; removed, it leaves its
/// column unbounded, which fails too.
#[test]
fn any_real_bound_changed_or_removed_fails() {
    let sources = current_sources(&sql_dir());
    let core = Core::of_crate();
    let report = check(&sources, &core);
    let mut edits = 0;
    for f in &report.files {
        for b in &f.bounds {
            let Some(span) = b.span else { continue };
            let (min, max) = (b.min.unwrap_or(0), b.max.unwrap_or(i64::from(i32::MAX)));
            let column = &b.column;
            let length = if b.kind == BoundKind::Length {
                format!("length({column})")
            } else {
                column.clone()
            };
            let at = format!("{}:{}: ", f.path, b.line);
            for wrong in [
                format!("{length} BETWEEN {min} AND {}", max - 1),
                format!("{length} BETWEEN {} AND {max}", min + 1),
            ] {
                let problems = problems_after_edit(&sources, &report, &f.path, span, &wrong, &core);
                assert_eq!(problems.len(), 1, "{at}{wrong}\n{}", problems.join("\n"));
                assert!(problems[0].starts_with(&at), "{at}: {}", problems[0]);
                edits += 1;
            }
            if b.table.is_some() {
                let problems = problems_after_edit(&sources, &report, &f.path, span, "TRUE", &core);
                let lacking = format!(".{column} has no");
                assert!(
                    problems.iter().any(|p| p.contains(&lacking)),
                    "{at}removed\n{}",
                    problems.join("\n")
                );
            }
        }
    }
    assert!(edits >= 2 * 20, "{edits}");
}

/// On disk, a copy of `sql/`: an added file is scanned, wherever it is,
/// the frozen history is not, and a status removed from a schema fails.
#[test]
fn a_copy_of_sql_with_edits_fails_and_its_history_is_not_held() {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy(&path, &target);
            } else {
                fs::copy(&path, &target).unwrap();
            }
        }
    }
    let root =
        std::env::temp_dir().join(format!("jobtrack-sql-value-lists-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let sql = root.join("sql");
    copy(&sql_dir(), &sql);
    let core = Core::of_crate();
    assert!(check(&current_sources(&sql), &core)
        .all_problems()
        .is_empty());

    let bad = "SELECT job_id FROM executions WHERE status IN ('done', 'failed');\n";
    fs::write(sql.join("pg/upgrade/jobtrack--9.0.0--9.0.1.sql"), bad).unwrap();
    fs::write(sql.join("sqlite/migrations/9999_later.sql"), bad).unwrap();
    assert!(check(&current_sources(&sql), &core)
        .all_problems()
        .is_empty());

    fs::write(
        sql.join("pg/queries/zz_added.sql"),
        format!("-- new\n{bad}"),
    )
    .unwrap();
    fs::create_dir_all(sql.join("sqlite/views")).unwrap();
    fs::write(sql.join("sqlite/views/jobs.sql"), bad).unwrap();
    let problems = check(&current_sources(&sql), &core).all_problems();
    assert_eq!(problems.len(), 2, "{}", problems.join("\n"));
    assert!(
        problems[0].starts_with("sql/pg/queries/zz_added.sql:2: ('done', 'failed') is no list"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].starts_with("sql/sqlite/views/jobs.sql:1: "),
        "{}",
        problems[1]
    );
    fs::remove_file(sql.join("pg/queries/zz_added.sql")).unwrap();
    fs::remove_dir_all(sql.join("sqlite/views")).unwrap();

    let schema = sql.join("sqlite/schema.sql");
    let text = fs::read_to_string(&schema).unwrap();
    let check_at = text.find("CHECK (status IN (").expect("a status CHECK");
    let line = text[..check_at].matches('\n').count() + 1;
    let value = "'generating_preview',";
    let gone = text[check_at..].find(value).unwrap() + check_at;
    fs::write(
        &schema,
        format!("{}{}", &text[..gone], &text[gone + value.len()..]),
    )
    .unwrap();
    let problems = check(&current_sources(&sql), &core).all_problems();
    assert_eq!(
        problems,
        [format!(
            "sql/sqlite/schema.sql:{line}: ('pending', 'in_queue', 'preparing_dataset', \
             'configuring_preset', 'ready_for_training', 'training', 'done', 'failed', \
             'cancelled') is no list jobtrack-core knows; next to all statuses it lacks \
             'generating_preview'"
        )]
    );
    fs::remove_dir_all(&root).unwrap();
}

// ------------------------------------------------------------ the scanner, on small texts

#[test]
fn the_lexer_skips_comments_and_unquotes() {
    let t = tokenize(
        "-- status IN ('x')\n/* 'y' /* nested */ ' */ SELECT 'it''s', E'a\\'b', $1, ?2,\n\
         $$ $body$ \"Mixed\" 1e-6 x.y::text[] <> $body$ $$",
    )
    .unwrap();
    let toks: Vec<_> = t.iter().map(|x| x.tok.clone()).collect();
    let w = |s: &str| Tok::Word(s.to_owned());
    let op = |s: &str| Tok::Op(s.to_owned());
    assert_eq!(
        toks,
        [
            w("select"),
            Tok::Str("it's".into()),
            op(","),
            Tok::Str("a'b".into()),
            op(","),
            Tok::Param("$1".into()),
            op(","),
            Tok::Param("?2".into()),
            op(","),
            w("Mixed"),
            Tok::Num("1e-6".into()),
            w("x"),
            op("."),
            w("y"),
            op("::"),
            w("text"),
            op("["),
            op("]"),
            op("<>"),
        ]
    );
    assert_eq!(t[0].line, 2);
    assert_eq!(t[9].line, 3);
    assert!(tokenize("SELECT 'open")
        .unwrap_err()
        .starts_with("1: unterminated"));
}

#[test]
fn lists_are_found_in_every_form_and_classified() {
    let report = check_sql(
        "CREATE TABLE t (\n\
           status text CHECK (status IN ('pending', 'in_queue', 'preparing_dataset',\n\
             'configuring_preset', 'ready_for_training', 'training', 'generating_preview',\n\
             'done', 'failed', 'cancelled')),\n\
           mode text CHECK (pipeline_mode IN ('batch', 'single', 'variations'))\n\
         );\n\
         CREATE INDEX i ON t (x) WHERE status IN ('done', 'failed', 'cancelled');\n\
         SELECT * FROM t WHERE t.status NOT IN ('done', 'failed', 'cancelled')\n\
           AND job_type = ANY (ARRAY['variation'::text, 'execution'])\n\
           AND status = ANY ('{pending,in_queue,preparing_dataset,configuring_preset,\
                               ready_for_training,training,generating_preview}'::text[])\n\
           AND '{}'::text[] = '{}';\n\
         IF TG_OP IN ('UPDATE', 'DELETE') THEN END IF;",
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let found: Vec<_> = report
        .lists()
        .map(|(_, l)| (l.line, l.form, l.subject.clone(), l.place, l.class.unwrap()))
        .collect();
    let col = |c: &str| Subject::Column(c.to_owned());
    assert_eq!(
        found,
        [
            (2, Form::In, col("status"), Place::Check, Class::AllStatuses),
            (
                5,
                Form::In,
                col("pipeline_mode"),
                Place::Check,
                Class::PipelineModes
            ),
            (
                7,
                Form::In,
                col("status"),
                Place::IndexPredicate,
                Class::TerminalStatuses
            ),
            (
                8,
                Form::In,
                col("status"),
                Place::Statement,
                Class::TerminalStatuses
            ),
            (
                9,
                Form::Array,
                col("job_type"),
                Place::Statement,
                Class::JobTypes
            ),
            (
                10,
                Form::ArrayConstant,
                col("status"),
                Place::Statement,
                Class::ActiveStatuses
            ),
            (
                12,
                Form::In,
                col("tg_op"),
                Place::Statement,
                Class::TriggerEvents
            ),
        ]
    );
}

#[test]
fn a_list_core_does_not_know_fails_naming_file_and_line() {
    let report = check_sql(
        "SELECT 1 WHERE status IN ('done', 'failed')\n\
         OR status IN ('done', 'failed', 'cancelled', 'pending')\n\
         OR status IN ('done', 'faild', 'cancelled')\n\
         OR relkind IN ('r', 'p')\n\
         OR job_type IN ('execution', 'variation', 'execution')\n\
         OR status IN ('done', $1)\n\
         OR x IN ('UPDATE');\n\
         ALTER TABLE t ADD CHECK (status IN ('done', 'failed', 'cancelled'));\n\
         SELECT 1 WHERE mode IN ('execution', 'variation') OR pipeline_mode IN ('execution', 'variation');",
    );
    assert_eq!(
        report.problems,
        [
            "sql/pg/x.sql:6: a list mixes quoted literals with other expressions: write it as \
             literals only, so that it can be compared with core",
            "sql/pg/x.sql:1: ('done', 'failed') is no list jobtrack-core knows; next to the \
             terminal statuses it lacks 'cancelled'",
            "sql/pg/x.sql:2: ('done', 'failed', 'cancelled', 'pending') is no list jobtrack-core \
             knows; next to the terminal statuses it has 'pending' too",
            "sql/pg/x.sql:3: ('done', 'faild', 'cancelled') is no list jobtrack-core knows; next \
             to the terminal statuses it lacks 'failed' and has 'faild' too",
            "sql/pg/x.sql:4: ('r', 'p') is no list jobtrack-core knows, and shares no value with \
             one",
            "sql/pg/x.sql:5: ('execution', 'variation', 'execution') names a value twice",
            "sql/pg/x.sql:7: ('UPDATE') is no list jobtrack-core knows, and shares no value with \
             one",
            "sql/pg/x.sql:8: ('done', 'failed', 'cancelled'), a CHECK on status, is the terminal \
             statuses; expected all statuses",
            "sql/pg/x.sql:9: ('execution', 'variation'), pipeline_mode, is the job types; \
             expected the pipeline modes",
        ]
    );
}

#[test]
fn single_literals_must_be_values_of_their_column() {
    let report = check_sql(
        "CREATE TABLE t (status text NOT NULL DEFAULT 'pendng', job_type text DEFAULT 'execution');\n\
         SELECT CASE ?2 WHEN 'done' THEN 1 END, CASE WHEN ?2 = 'training' THEN 2 END\n\
         FROM t WHERE x.status <> 'failed' AND 'cancelled' = t.status AND status IS NOT 'done'\n\
           AND x.status = 'completed' AND job_type = 'executions' AND pipeline_mode = 'single';\n\
         SELECT CASE WHEN a THEN 'done' END;\n\
         SELECT 'failed' AS status_name;",
    );
    assert_eq!(
        report.problems,
        [
            "sql/pg/x.sql:1: 'pendng' is not a value of status (jobtrack-core: 'cancelled', \
             'configuring_preset', 'done', 'failed', 'generating_preview', 'in_queue', \
             'pending', 'preparing_dataset', 'ready_for_training', 'training')",
            "sql/pg/x.sql:4: 'completed' is not a value of status (jobtrack-core: 'cancelled', \
             'configuring_preset', 'done', 'failed', 'generating_preview', 'in_queue', \
             'pending', 'preparing_dataset', 'ready_for_training', 'training')",
            "sql/pg/x.sql:4: 'executions' is not a value of job_type (jobtrack-core: \
             'execution', 'variation')",
            "sql/pg/x.sql:5: the status 'done' stands outside a list, a comparison, a CASE … \
             WHEN and a DEFAULT, where this test cannot classify it",
            "sql/pg/x.sql:6: the status 'failed' stands outside a list, a comparison, a CASE … \
             WHEN and a DEFAULT, where this test cannot classify it",
        ]
    );
    let values: Vec<_> = report.files[0]
        .literals
        .iter()
        .map(|l| l.value.as_str())
        .collect();
    assert_eq!(
        values,
        [
            "pendng",
            "execution",
            "done",
            "training",
            "failed",
            "cancelled",
            "done",
            "completed",
            "executions",
            "single",
            "done",
            "failed"
        ]
    );
}

#[test]
fn length_and_range_bounds_are_read_in_every_form() {
    let report = check_sql(
        "CREATE TABLE jobtrack.executions (\n\
           job_id text CHECK (char_length(job_id) BETWEEN 1 AND 64),\n\
           preset varchar(100) CHECK (1 <= length(preset)),\n\
           dataset_name text, CONSTRAINT d CHECK (length(dataset_name) > 0 AND length(dataset_name) < 256),\n\
           total_steps integer CHECK (total_steps >= 0),\n\
           current_step bigint CHECK (current_step > -1 AND current_step <= 2147483647)\n\
         );\n\
         SELECT x::varchar(64) FROM t WHERE length(job_id) = 3;",
    );
    let found: Vec<_> = report.files[0]
        .bounds
        .iter()
        .map(|b| (b.line, b.table.as_deref(), b.column.as_str(), b.min, b.max))
        .collect();
    let e = Some("executions");
    assert_eq!(
        found,
        [
            (2, e, "job_id", Some(1), Some(64)),
            (3, e, "preset", None, Some(100)),
            (3, e, "preset", Some(1), None),
            (4, e, "dataset_name", Some(1), None),
            (4, e, "dataset_name", None, Some(255)),
            (5, e, "total_steps", Some(0), None),
            (6, e, "current_step", Some(0), None),
            (6, e, "current_step", None, Some(2147483647)),
            (8, None, "x", None, Some(64)),
            (8, None, "job_id", Some(3), Some(3)),
        ]
    );
    assert_eq!(
        report.problems,
        [
            "sql/pg/x.sql:8: bounds the length of x, which jobtrack-core does not bound: add it \
             to core's input::limits",
            "sql/pg/x.sql:8: lets job_id have at least 3 characters; jobtrack-core: 1",
        ]
    );
    let columns: Vec<_> = report.files[0]
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.ty.as_str()))
        .collect();
    assert_eq!(
        columns,
        [
            ("job_id", "text"),
            ("preset", "varchar"),
            ("dataset_name", "text"),
            ("total_steps", "integer"),
            ("current_step", "bigint"),
        ]
    );
}

#[test]
fn wrong_bounds_and_unbounded_columns_fail() {
    let report = check(
        &[
            Source::new(
                "sql/pg/schema.sql",
                "CREATE TABLE executions (\n\
                   job_id text CHECK (char_length(job_id) BETWEEN 1 AND 65),\n\
                   preset text CHECK (octet_length(preset) <= 100),\n\
                   dataset_name text CHECK (char_length(dataset_name) <= 255),\n\
                   total_steps bigint CHECK (total_steps >= 1)\n\
                 );\n\
                 CREATE TABLE job_summary_cache (job_id text, preset text);",
            ),
            Source::new(
                "sql/sqlite/schema.sql",
                "CREATE TABLE variations (job_id VARCHAR(64), total_steps INTEGER CHECK (total_steps >= 0));",
            ),
        ],
        &Core::of_crate(),
    );
    assert_eq!(
        report.problems,
        [
            "sql/pg/schema.sql:3: bounds the bytes of preset; jobtrack-core bounds characters \
             (use char_length or length)",
            "sql/pg/schema.sql:2: lets job_id have 65 characters; jobtrack-core's limits: 64",
            "sql/pg/schema.sql:5: bounds total_steps from 1; jobtrack-core's limits: from 0",
            "sql/sqlite/schema.sql:1: SQLite does not enforce the length of varchar(64): write \
             CHECK (length(column) BETWEEN 1 AND 64)",
        ]
    );
    let limited = |field: &str| format!("Pg: no table bounds {field}, which jobtrack-core bounds");
    let mut expected = vec![
        "sql/pg/schema.sql:3: executions.preset takes the empty string, which jobtrack-core \
         refuses"
            .to_owned(),
        "sql/pg/schema.sql:4: executions.dataset_name takes the empty string, which \
         jobtrack-core refuses"
            .to_owned(),
        "sql/pg/schema.sql:5: executions.total_steps has no upper bound; jobtrack-core reads it \
         as a 32-bit integer"
            .to_owned(),
    ];
    expected.extend(
        [
            "experiment_name",
            "parent_experiment_id",
            "variation_id",
            "worker",
            "current_step",
            "total_combinations",
        ]
        .map(limited),
    );
    expected.push(
        "sql/sqlite/schema.sql:1: variations.job_id has no length bound; jobtrack-core's \
         limits: 1 to 64 characters"
            .to_owned(),
    );
    expected.push(
        "sql/sqlite/schema.sql:1: variations.total_steps has no upper bound; jobtrack-core reads \
         it as a 32-bit integer"
            .to_owned(),
    );
    expected.extend(
        [
            "dataset_name",
            "experiment_name",
            "job_id",
            "parent_experiment_id",
            "preset",
            "variation_id",
            "worker",
            "current_step",
            "total_combinations",
        ]
        .map(|f| format!("Sqlite: no table bounds {f}, which jobtrack-core bounds")),
    );
    assert_eq!(report.coverage, expected);
}
