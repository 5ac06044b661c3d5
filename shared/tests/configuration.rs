//! The README's configuration table tells the truth: it lists exactly the variables the
//! functions read, each with the functions that read it, and only `config` reads any.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use auth_core::{config::Config, wiring};

const FUNCTIONS: [&str; 14] = [
    "signup",
    "auth",
    "refresh",
    "logout",
    "list-work",
    "create-work",
    "list-sessions",
    "end-sessions",
    "change-password",
    "delete-account",
    "export-account",
    "authorizer",
    "rotate-key",
    "well-known",
];

/// What `make dev` gives every function: table names and local secrets, nothing else.
const LOCAL: &[(&str, &str)] = &[
    ("USERS_TABLE", "users"),
    ("WORK_ITEMS_TABLE", "work"),
    ("LOGIN_ATTEMPTS_TABLE", "attempts"),
    ("REFRESH_TOKENS_TABLE", "refresh"),
    ("JWT_PRIVATE_KEY", include_str!("fixtures/test-only-rsa-1.pem")),
    ("SERVER_SECRET", "Qw3eR5tY7uI9oP1aS2dF4gH6jK8lZ0xC-configuration-test"),
];

/// The variables `function` looks up as it starts under [`LOCAL`], set or not.
async fn read_by(function: &str) -> BTreeSet<&'static str> {
    let config = Config::from_pairs(LOCAL);
    config.log(); // as `wiring::start` does first, for every function
    match function {
        "signup" => drop(wiring::Signup::build(&config).unwrap()),
        "auth" => drop(wiring::Auth::build(&config).await.unwrap()),
        "refresh" => drop(wiring::Refresh::build(&config).await.unwrap()),
        "logout" => drop(wiring::Logout::build(&config).unwrap()),
        "list-work" | "create-work" => drop(wiring::Work::build(&config).unwrap()),
        "list-sessions" | "end-sessions" => drop(wiring::Sessions::build(&config).unwrap()),
        "change-password" => drop(wiring::ChangePassword::build(&config).await.unwrap()),
        "delete-account" => drop(wiring::DeleteAccount::build(&config).await.unwrap()),
        "export-account" => drop(wiring::ExportAccount::build(&config).unwrap()),
        "authorizer" => drop(wiring::Authorizer::build(&config).await.unwrap()),
        "rotate-key" => drop(wiring::RotateKey::build(&config)),
        "well-known" => drop(wiring::WellKnown::build(&config).await.unwrap()),
        other => panic!("unknown function {other}"),
    }
    config.variables_read()
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap()
}

/// The text of every `code span` in `text`.
fn code_spans(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The README's configuration section: the table (variable → the functions in *Read by*), and
/// the variables it lists as set by Lambda and as test only.
struct Documented {
    table: BTreeMap<String, BTreeSet<String>>,
    set_by_lambda: BTreeSet<String>,
    test_only: BTreeSet<String>,
}

fn documented() -> Documented {
    let readme = readme();
    let section = readme.split("\n## Configuration\n").nth(1).expect("a Configuration section");
    let section = section.split("\n## ").next().unwrap();
    let mut table = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let functions: BTreeSet<String> = match cells[1].trim() {
            "all" => FUNCTIONS.iter().map(|f| f.to_string()).collect(),
            list => list.split(", ").map(str::to_owned).collect(),
        };
        for variable in code_spans(cells[0].trim_start_matches("| ")) {
            assert!(table.insert(variable.clone(), functions.clone()).is_none(), "{variable} twice");
        }
    }
    let paragraph = |start: &str| -> BTreeSet<String> {
        let at = section.find(start).unwrap_or_else(|| panic!("no paragraph starting {start:?}"));
        let text = &section[at..];
        let end = text.find("\n\n").unwrap_or(text.len());
        let text = &text[..end];
        let until = text.find("Test only:").filter(|_| start != "Test only:").unwrap_or(text.len());
        let text = &text[..until];
        let text = text.find("The Lambda").map_or(text, |i| &text[..i]);
        code_spans(text)
            .into_iter()
            .filter(|s| s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .collect()
    };
    Documented { table, set_by_lambda: paragraph("Set by Lambda"), test_only: paragraph("Test only:") }
}

#[tokio::test]
async fn the_readme_lists_exactly_the_variables_each_function_reads() {
    let documented = documented();
    let mut readers: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for function in FUNCTIONS {
        for variable in read_by(function).await {
            readers.entry(variable).or_default().insert(function.to_owned());
        }
    }
    let listed: BTreeSet<&str> = documented
        .table
        .keys()
        .chain(&documented.set_by_lambda)
        .chain(&documented.test_only)
        .map(String::as_str)
        .collect();
    let read: BTreeSet<&str> = readers.keys().copied().collect();
    assert_eq!(read, listed, "left: read by the functions; right: in the README");
    for (variable, functions) in &documented.table {
        assert_eq!(&readers[variable.as_str()], functions, "the functions that read {variable}");
    }
    assert!(
        documented.set_by_lambda.contains("AWS_REGION") && documented.test_only.contains("DYNAMODB_CALL_LOG")
    );
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn only_the_config_module_reads_the_environment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = sources(&root.join("src"));
    files.extend(sources(&root.join("../functions")));
    let config = root.join("src/config.rs");
    let readers: Vec<String> = files
        .iter()
        .filter(|file| **file != config)
        .filter(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            ["env::var", "env::vars", "var_os(", "Env::real"].iter().any(|call| text.contains(call))
        })
        .map(|file| file.strip_prefix(root).unwrap_or(file).display().to_string())
        .collect();
    assert!(readers.is_empty(), "these read the environment themselves: {readers:?}");
    assert!(files.len() > 30, "the scan found the sources");
}
