//! The command line; `openapi-compat --help` says everything.

use openapi_compat::{Client, Format, Ignores, Level};
use std::process::ExitCode;

const HELP: &str = "\
openapi-compat: what changed between two OpenAPI documents, judged as clients read them

usage: openapi-compat OLD NEW [options]

OLD and NEW are OpenAPI 3.0 or 3.1 documents (JSON or YAML): a file, or a git
revision and path, REV:PATH (e.g. origin/main:openapi/astro.json), read with
`git show` from the current directory, so no checkout is needed.

options:
  --client progenitor|generic   whose reading to judge by (default: generic)
                                  progenitor: a progenitor/typify-generated Rust client
                                  generic: any client that conforms to the document
  --fail-on error|warning|info  exit 1 when a change reaches this level (default: error)
  --format text|json|markdown|junit|githubactions
                                how to print the report (default: text); JSON has a
                                `summary` block; JUnit failures follow --fail-on;
                                githubactions prints workflow commands (annotations)
  --ignore FILE                 accepted changes, one `OPERATION RULE REASON` per line,
                                OPERATION being `METHOD /path`, an operationId or `*`;
                                an entry that matches nothing is reported as a warning
  -h, --help                    this text

levels: error breaks clients of OLD talking to a NEW server; warning breaks only
clients of NEW talking to an OLD server; info breaks neither. Every rule, with
its level per profile: docs/compat-rules.md.

exit status: 0 nothing reached --fail-on; 1 something did; 2 bad usage, or an
input or the ignore file could not be read.
";

struct Options {
    inputs: Vec<String>,
    client: Client,
    fail_on: Level,
    format: Format,
    ignore: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
    let mut options = Options {
        inputs: Vec::new(),
        client: Client::Generic,
        fail_on: Level::Error,
        format: Format::Text,
        ignore: None,
    };
    let mut i = 0;
    while i < args.len() {
        let value = |name: &str| {
            args.get(i + 1).map(String::as_str).ok_or_else(|| format!("{name} needs a value"))
        };
        match args[i].as_str() {
            "-h" | "--help" => return Ok(None),
            "--format" => {
                let v = value("--format")?;
                options.format = Format::parse(v).ok_or_else(|| format!("unknown format {v:?}"))?;
                i += 1;
            }
            "--fail-on" => {
                let v = value("--fail-on")?;
                options.fail_on = Level::parse(v).ok_or_else(|| format!("unknown level {v:?}"))?;
                i += 1;
            }
            "--client" => {
                let v = value("--client")?;
                options.client = Client::parse(v).ok_or_else(|| format!("unknown client {v:?}"))?;
                i += 1;
            }
            "--ignore" => {
                options.ignore = Some(value("--ignore")?.to_owned());
                i += 1;
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            input => options.inputs.push(input.to_owned()),
        }
        i += 1;
    }
    if options.inputs.len() != 2 {
        return Err(format!("expected two documents, got {}", options.inputs.len()));
    }
    Ok(Some(options))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("error: {problem}\n(openapi-compat --help says more)");
            return ExitCode::from(2);
        }
    };
    let ignores = match &options.ignore {
        None => Ignores::default(),
        Some(file) => match std::fs::read_to_string(file)
            .map_err(|e| format!("{file}: {e}"))
            .and_then(|text| Ignores::parse(file, &text))
        {
            Ok(ignores) => ignores,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let [old, new] = &options.inputs[..] else { unreachable!("two inputs were checked") };
    let (old, new) = match (openapi_compat::load_input(old), openapi_compat::load_input(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut report = openapi_compat::compare(&old, &new, options.client);
    ignores.apply(&mut report);
    print!("{}", report.render(options.format, options.fail_on));
    for entry in &report.unused_ignores {
        if options.format != Format::Text {
            eprintln!("warning: ignore entry matched nothing: {entry}");
        }
    }
    if report.fails(options.fail_on) { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
