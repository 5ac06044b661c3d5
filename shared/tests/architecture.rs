//! The core crate's module graph, read from its source: no import cycles, and the domain
//! depends on nothing that talks to AWS or HTTP. `cargo test -- --nocapture` prints the graph.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use proc_macro2::{TokenStream, TokenTree};
use syn::{Attribute, Item, UseTree, visit::Visit};

/// Modules that know nothing of AWS or HTTP, and everything they depend on must be among them.
const DOMAIN: &[&str] = &[
    "clock",
    "validation",
    "store",
    "users",
    "work",
    "passwords",
    "passwords::foreign",
    "lockout",
    "refresh",
    "keys",
    "keys::rotation",
    "tokens",
    "identity",
    "audit",
    "erasure",
    "throttle",
];

/// Crates that talk to AWS or speak HTTP (or Lambda's event shapes): never in the domain.
const OUTSIDE_CRATES: &[&str] = &[
    "aws_credential_types",
    "aws_lambda_events",
    "aws_runtime",
    "aws_sdk_dynamodb",
    "aws_sdk_secretsmanager",
    "aws_smithy_http_client",
    "aws_smithy_runtime_api",
    "aws_types",
    "lambda_http",
    "lambda_runtime",
    "serde_dynamo",
];

/// One module of the crate: its file, and the modules and external crates it refers to.
#[derive(Debug, Default)]
struct Module {
    file: PathBuf,
    children: BTreeSet<String>,
    uses: BTreeSet<String>,
    crates: BTreeSet<String>,
}

fn is_test_only(attributes: &[Attribute]) -> bool {
    attributes
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.parse_args::<syn::Path>().is_ok_and(|p| p.is_ident("test")))
}

/// Every non-test module from `lib.rs` down, by path (`""` is the crate root), with the raw
/// paths each refers to; resolved into modules afterwards.
fn read_crate() -> BTreeMap<String, (Module, Vec<Vec<String>>)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    let file = src.join("lib.rs");
    let syntax = syn::parse_file(&std::fs::read_to_string(&file).unwrap()).unwrap();
    read_items(&mut modules, "", &file, &src, &syntax.items);
    modules
}

fn read_items(
    modules: &mut BTreeMap<String, (Module, Vec<Vec<String>>)>,
    path: &str,
    file: &Path,
    dir: &Path,
    items: &[Item],
) {
    let mut paths = Paths::default();
    let mut module = Module { file: file.to_owned(), ..Module::default() };
    for item in items {
        if let Item::Mod(declared) = item {
            if is_test_only(&declared.attrs) {
                continue;
            }
            let name = declared.ident.to_string();
            let child = if path.is_empty() { name.clone() } else { format!("{path}::{name}") };
            module.children.insert(name.clone());
            match &declared.content {
                Some((_, inline)) => read_items(modules, &child, file, dir, inline),
                None => {
                    let (child_file, child_dir) = match dir.join(format!("{name}.rs")) {
                        flat if flat.exists() => (flat, dir.join(&name)),
                        _ => (dir.join(&name).join("mod.rs"), dir.join(&name)),
                    };
                    let source = std::fs::read_to_string(&child_file).unwrap();
                    let syntax = syn::parse_file(&source).unwrap();
                    read_items(modules, &child, &child_file, &child_dir, &syntax.items);
                }
            }
        } else if !item_is_test_only(item) {
            paths.visit_item(item);
        }
    }
    module.crates = paths.crates;
    modules.insert(path.to_owned(), (module, paths.paths));
}

fn item_is_test_only(item: &Item) -> bool {
    let attributes = match item {
        Item::Fn(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::Const(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        _ => return false,
    };
    is_test_only(attributes)
}

/// The paths a module's code names: `use` trees and paths in code, macro bodies included.
#[derive(Default)]
struct Paths {
    paths: Vec<Vec<String>>,
    crates: BTreeSet<String>,
}

impl Paths {
    fn record(&mut self, segments: Vec<String>) {
        if let Some(first) = segments.first() {
            if !matches!(first.as_str(), "crate" | "super" | "self" | "Self") {
                self.crates.insert(first.clone());
            }
            self.paths.push(segments);
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &UseTree) {
        match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            UseTree::Name(n) => {
                let mut full = prefix.clone();
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.record(full);
            }
            UseTree::Rename(r) => {
                let mut full = prefix.clone();
                full.push(r.ident.to_string());
                self.record(full);
            }
            UseTree::Glob(_) => self.record(prefix.clone()),
            UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(prefix, t)),
        }
    }

    /// `crate::a::b` and `super::a` inside macro bodies, which `syn` leaves unparsed.
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Group(group) => self.tokens(group.stream()),
                TokenTree::Ident(ident) if ident == "crate" || ident == "super" => {
                    let mut segments = vec![ident.to_string()];
                    let mut rest = trees[i + 1..].iter();
                    while let (
                        Some(TokenTree::Punct(a)),
                        Some(TokenTree::Punct(b)),
                        Some(TokenTree::Ident(next)),
                    ) = (rest.next(), rest.next(), rest.next())
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        segments.push(next.to_string());
                    }
                    self.record(segments);
                }
                _ => {}
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.segments.len() > 1 || path.leading_colon.is_some() {
            self.record(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }

    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}

    fn visit_attribute(&mut self, _: &'ast Attribute) {}
}

/// The crate's modules with their dependencies resolved: each path names the longest module it
/// reaches from the crate root, `super` or a child module.
fn graph() -> BTreeMap<String, Module> {
    let raw = read_crate();
    let known: BTreeSet<String> = raw.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (path, (mut module, paths)) in raw {
        let here: Vec<String> =
            if path.is_empty() { vec![] } else { path.split("::").map(str::to_owned).collect() };
        for segments in paths {
            let mut absolute = match segments[0].as_str() {
                "crate" => vec![],
                "self" => here.clone(),
                "super" => here[..here.len().saturating_sub(1)].to_vec(),
                first if module.children.contains(first) => {
                    let mut child = here.clone();
                    child.push(first.to_owned());
                    module.crates.remove(first);
                    child.extend(segments[1..].iter().cloned());
                    resolve(&known, &child, &path, &mut module.uses);
                    continue;
                }
                _ => continue,
            };
            let mut rest = segments[1..].iter().peekable();
            while rest.peek().is_some_and(|s| *s == "super") {
                absolute.pop();
                rest.next();
            }
            absolute.extend(rest.cloned());
            resolve(&known, &absolute, &path, &mut module.uses);
        }
        graph.insert(path, module);
    }
    graph
}

fn resolve(known: &BTreeSet<String>, absolute: &[String], from: &str, uses: &mut BTreeSet<String>) {
    let target = (0..=absolute.len())
        .rev()
        .map(|n| absolute[..n].join("::"))
        .find(|candidate| known.contains(candidate))
        .unwrap_or_default();
    if target != from {
        uses.insert(target);
    }
}

/// A cycle through `start`, if any, as the modules along it.
fn cycle(graph: &BTreeMap<String, Module>) -> Option<Vec<String>> {
    fn visit(
        graph: &BTreeMap<String, Module>,
        node: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut found = stack[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in &graph[node].uses {
            if let Some(found) = visit(graph, next, stack, done) {
                return Some(found);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

/// Everything `from` depends on, directly or not.
fn reachable(graph: &BTreeMap<String, Module>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(node) = todo.pop() {
        for next in &graph[&node].uses {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

fn name(module: &str) -> &str {
    if module.is_empty() { "(crate root)" } else { module }
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = graph();
    for (module, node) in &graph {
        let uses: Vec<&str> = node.uses.iter().map(|m| name(m)).collect();
        println!("{:<24} -> {}", name(module), uses.join(", "));
    }
    if let Some(found) = cycle(&graph) {
        let path: Vec<&str> = found.iter().map(|m| name(m)).collect();
        panic!("import cycle: {}", path.join(" -> "));
    }
}

#[test]
fn the_domain_depends_on_nothing_that_talks_to_aws_or_http() {
    let graph = graph();
    for module in DOMAIN {
        let node = graph.get(*module).unwrap_or_else(|| panic!("no module {module}: update DOMAIN"));
        let outside: Vec<String> = reachable(&graph, module)
            .into_iter()
            .filter(|m| !m.is_empty() && !DOMAIN.contains(&m.as_str()))
            .collect();
        assert!(outside.is_empty(), "{module} ({}) depends on {outside:?}", node.file.display());
        let crates: Vec<&String> =
            node.crates.iter().filter(|c| OUTSIDE_CRATES.contains(&c.as_str())).collect();
        assert!(crates.is_empty(), "{module} ({}) uses {crates:?}", node.file.display());
    }
}

#[test]
fn the_check_sees_an_import_cycle_and_a_domain_module_reaching_out() {
    let mut graph = graph();
    graph.get_mut("users").unwrap().uses.insert("dynamodb".into());
    assert!(reachable(&graph, "users").contains("dynamodb::users"));
    let found = cycle(&graph).expect("users -> dynamodb -> dynamodb::users -> users");
    assert!(found.contains(&"users".to_owned()) && found.contains(&"dynamodb".to_owned()), "{found:?}");
    let real = self::graph();
    assert!(real["dynamodb::users"].uses.contains("users"), "a child's import is resolved");
    assert!(real["api"].uses.contains("api::caller"), "a re-export of a child is an edge");
    assert!(real["aws"].uses.contains("aws::call_log"), "a child named in code is an edge");
    assert!(real["tokens"].crates.contains("jsonwebtoken"));
}

/// Units a measurement is quoted in; a figure in one of them goes stale at the next run.
const MEASURED_UNITS: &[&str] = &["µs", "ns", "ms", "KB", "kB", "MB", "GB", "%", "×", "x"];

/// The comment lines of `text` (`//` for Rust, `#` for TOML) that quote a measured figure.
fn quoted_figures(text: &str, comment: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.trim_start().strip_prefix(comment))
        .filter(|line| {
            let mut previous = ' ';
            line.char_indices().any(|(i, c)| {
                let starts_number = c.is_ascii_digit() && !previous.is_ascii_alphanumeric();
                previous = c;
                let after =
                    line[i..].trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ',');
                let unit = |u: &&str| {
                    let rest = after.trim_start().strip_prefix(*u);
                    rest.is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric()))
                };
                starts_number && MEASURED_UNITS.iter().any(unit)
            })
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn product_comments_name_the_benchmark_instead_of_quoting_its_figures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut quoted = Vec::new();
    let mut rust = vec![root.join("src")];
    while let Some(dir) = rust.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                quoted.extend(
                    quoted_figures(&text, "//").into_iter().map(|l| format!("{}: {l}", path.display())),
                );
            }
        }
    }
    let functions =
        std::fs::read_dir(root.join("../functions")).unwrap().map(|e| e.unwrap().path().join("Cargo.toml"));
    for manifest in [root.join("../Cargo.toml"), root.join("Cargo.toml")].into_iter().chain(functions) {
        let text = std::fs::read_to_string(&manifest).unwrap();
        quoted.extend(quoted_figures(&text, "#").into_iter().map(|l| format!("{}: {l}", manifest.display())));
    }
    assert!(quoted.is_empty(), "name the BENCHMARKS.md section instead:\n{}", quoted.join("\n"));
    assert_eq!(
        quoted_figures("// from 2.3 to 1.7 µs\n// 43 % smaller\n// 0.9x\n// 16 KiB cap, 2 minutes", "//")
            .len(),
        3
    );
}
