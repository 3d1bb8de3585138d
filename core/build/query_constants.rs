// Included by the build scripts of jobtrack-pg and jobtrack-sqlite (one
// source for both): every `NAME.sql` of a queries directory becomes a
// constant `NAME` (in capitals) holding the file's text, documented by the
// file's leading `--` comment. A new query file needs no Rust line to be
// usable, and a file nothing uses is a dead-code warning.

/// Writes the constants for the queries in `dir` (relative to the crate)
/// to `$OUT_DIR/queries.rs`, declared with `visibility`.
fn write_query_constants(dir: &str, visibility: &str) {
    use std::fmt::Write as _;
    use std::path::Path;

    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join(dir);
    // A directory: cargo reruns the script when a file in it changes,
    // appears or goes.
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    let mut out = String::new();
    for path in files {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 file name");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Vec<&str> = text
            .lines()
            .map_while(|line| line.strip_prefix("--"))
            .map(str::trim)
            .collect();
        writeln!(out, "/// `{stem}.sql`: {}", doc.join(" ")).unwrap();
        writeln!(
            out,
            "{visibility} const {}: &str = include_str!({:?});",
            stem.to_uppercase(),
            path.display().to_string()
        )
        .unwrap();
    }
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("queries.rs");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
}
