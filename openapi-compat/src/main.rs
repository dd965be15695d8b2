//! `openapi-compat OLD NEW [--format text|json|markdown|junit] [--fail-on error|warning]`
//!
//! Exit status: 0 when nothing reaches the `--fail-on` level (default
//! `error`), 1 when something does, 2 when an input cannot be read.

use openapi_compat::{Format, Level};
use std::process::ExitCode;

const USAGE: &str =
    "usage: openapi-compat OLD NEW [--format text|json|markdown|junit] [--fail-on error|warning]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut files = Vec::new();
    let mut format = Format::Text;
    let mut fail_on = Level::Error;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--format" => {
                format = match args.get(i + 1).map(String::as_str) {
                    Some("text") => Format::Text,
                    Some("json") => Format::Json,
                    Some("markdown") => Format::Markdown,
                    Some("junit") => Format::Junit,
                    other => return usage(&format!("unknown format {other:?}")),
                };
                i += 1;
            }
            "--fail-on" => {
                fail_on = match args.get(i + 1).map(String::as_str) {
                    Some("error") => Level::Error,
                    Some("warning") => Level::Warning,
                    other => return usage(&format!("unknown level {other:?}")),
                };
                i += 1;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            file => files.push(file.to_owned()),
        }
        i += 1;
    }
    let [old, new] = files.as_slice() else { return usage("expected two documents") };
    let (old, new) = match (openapi_compat::load(old.as_ref()), openapi_compat::load(new.as_ref()))
    {
        (Ok(old), Ok(new)) => (old, new),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let report = openapi_compat::compare(&old, &new);
    print!("{}", report.render(format));
    if report.fails(fail_on) { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("error: {problem}\n{USAGE}");
    ExitCode::from(2)
}
