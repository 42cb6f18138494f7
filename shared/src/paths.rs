//! Pure. API Gateway resource paths: validating untrusted tag values, and the tree
//! arithmetic (ancestors, parents, path parameters) the diff needs.

/// At most this many paths in `expose:paths`.
pub const MAX_PATHS: usize = 20;
/// At most this long, one path.
pub const MAX_PATH_LEN: usize = 256;
/// At most this many segments in one path.
pub const MAX_SEGMENTS: usize = 16;

/// Checks one path from a tag: `/`-led, non-empty segments of `[A-Za-z0-9._~-]`, or a whole
/// `{name}` / `{name+}` segment when `params` is allowed; no `.` or `..` segments.
pub fn validate(path: &str, params: bool) -> Result<(), String> {
    if path == "/" {
        return Ok(());
    }
    if path.len() > MAX_PATH_LEN {
        return Err(format!("path is longer than {MAX_PATH_LEN} characters"));
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("{} does not start with /", shown(path)));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.len() > MAX_SEGMENTS {
        return Err(format!(
            "{} has more than {MAX_SEGMENTS} segments",
            shown(path)
        ));
    }
    for (i, seg) in segments.iter().enumerate() {
        if seg.is_empty() {
            return Err(format!("{} has an empty segment", shown(path)));
        }
        if *seg == "." || *seg == ".." {
            return Err(format!("{} has a . or .. segment", shown(path)));
        }
        if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let (name, greedy) = match inner.strip_suffix('+') {
                Some(n) => (n, true),
                None => (inner, false),
            };
            let ok_name =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !params || !ok_name || (greedy && i + 1 != segments.len()) {
                return Err(format!(
                    "{} has a path parameter not allowed here",
                    shown(path)
                ));
            }
            continue;
        }
        if !seg
            .bytes()
            // API Gateway's path part: letters, digits, `.`, `_`, `-` (and `:`, which a
            // mirrored path never needs); `~` is refused with a 400.
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(format!(
                "{} has characters API Gateway does not allow",
                shown(path)
            ));
        }
    }
    Ok(())
}

/// A path quoted for a message, cut short and stripped of control characters, so a hostile
/// tag cannot flood a log line or an SSM status.
pub fn shown(path: &str) -> String {
    let cut: String = path.chars().filter(|c| !c.is_control()).take(64).collect();
    if cut.len() < path.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

/// Every proper ancestor except `/`, outermost first: `/a/b/c` -> `/a`, `/a/b`.
pub fn ancestors(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = path[at + 1..].find('/') {
        at += i + 1;
        out.push(path[..at].to_string());
    }
    out
}

/// The parent path (`/` for a top-level resource) and the last segment.
pub fn split_last(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("/", path),
    }
}

/// Number of segments (`/` is 0).
pub fn depth(path: &str) -> usize {
    path.split('/').filter(|s| !s.is_empty()).count()
}

/// Whether `path` is `root` or lies under it.
pub fn is_within(path: &str, root: &str) -> bool {
    root == "/"
        || path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether one path part is a variable: `{id}` or `{proxy+}`.
pub fn is_variable(part: &str) -> bool {
    part.len() > 2 && part.starts_with('{') && part.ends_with('}')
}

/// Path parameter names, in order: `/a/{id}/{proxy+}` -> `id`, `proxy`.
pub fn parameters(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|s| s.trim_end_matches('+').to_string())
        .collect()
}

/// The path as an integration URI suffix: `{proxy+}` becomes `{proxy}`.
pub fn uri_suffix(path: &str) -> String {
    path.replace("+}", "}")
}

/// Whether one request path could match both templates: a literal part matches itself,
/// `{x}` any one segment, `{x+}` one or more. API Gateway sends a request to the most
/// specific matching resource, so two owners' overlapping routes would take each other's
/// requests (`/files/secret` beside `/files/{proxy+}`, `/users/me` beside `/users/{id}`).
pub fn overlap(a: &str, b: &str) -> bool {
    fn parts(p: &str) -> Vec<&str> {
        p.split('/').filter(|s| !s.is_empty()).collect()
    }
    fn greedy(part: &str) -> bool {
        is_variable(part) && part.ends_with("+}")
    }
    let (a, b) = (parts(a), parts(b));
    let (mut i, mut j) = (0, 0);
    // Bounded by the shorter template: each step consumes one part of each.
    loop {
        match (a.get(i), b.get(j)) {
            (None, None) => return true,
            // A greedy part matches the whole rest, as long as there is a rest.
            (Some(x), rest) if greedy(x) => return rest.is_some(),
            (rest, Some(y)) if greedy(y) => return rest.is_some(),
            (Some(x), Some(y)) if is_variable(x) || is_variable(y) || x == y => {
                i += 1;
                j += 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    #[test]
    fn overlapping_templates() {
        for (a, b) in [
            ("/files/secret", "/files/{proxy+}"),
            ("/users/me", "/users/{id}"),
            ("/admin/x", "/admin/{proxy+}"),
            ("/cats", "/{proxy+}"),
            ("/items/{id}", "/items/{itemId}"),
            ("/a/{x}/c", "/a/b/{y}"),
            ("/a/b", "/a/b"),
        ] {
            assert!(overlap(a, b), "{a} {b}");
            assert!(overlap(b, a), "{b} {a}");
        }
        for (a, b) in [
            ("/cats", "/dogs"),
            ("/cats", "/cats/{id}"),
            ("/files/{proxy+}", "/files"),
            ("/a/{x}", "/a/b/c"),
            ("/v1/cats", "/v1/dogs"),
        ] {
            assert!(!overlap(a, b), "{a} {b}");
            assert!(!overlap(b, a), "{b} {a}");
        }
    }

    /// API Gateway's matcher on one request path: does `template` match `request`?
    fn matches(template: &str, request: &[&str]) -> bool {
        let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
        match parts.last() {
            Some(last) if last.ends_with("+}") => {
                request.len() >= parts.len()
                    && parts[..parts.len() - 1]
                        .iter()
                        .zip(request)
                        .all(|(t, r)| is_variable(t) || t == r)
            }
            _ => {
                parts.len() == request.len()
                    && parts
                        .iter()
                        .zip(request)
                        .all(|(t, r)| is_variable(t) || t == r)
            }
        }
    }

    fn template() -> impl Strategy<Value = String> {
        let part = proptest::sample::select(vec!["a", "b", "{x}", "{y}"]);
        (
            proptest::collection::vec(part, 0..4),
            proptest::option::weighted(0.3, Just("{p+}")),
        )
            .prop_map(|(parts, greedy)| {
                let all: Vec<&str> = parts.into_iter().chain(greedy).collect();
                format!("/{}", all.join("/"))
            })
    }

    /// Every request path of up to 5 segments over the literals, plus one fresh literal.
    fn requests() -> Vec<Vec<&'static str>> {
        let mut out: Vec<Vec<&str>> = vec![vec![]];
        let mut layer: Vec<Vec<&str>> = vec![vec![]];
        for _ in 0..5 {
            layer = layer
                .iter()
                .flat_map(|r| {
                    ["a", "b", "z"].into_iter().map(move |s| {
                        let mut next = r.clone();
                        next.push(s);
                        next
                    })
                })
                .collect();
            out.extend(layer.iter().cloned());
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2000,
            rng_seed: RngSeed::Fixed(7),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn overlap_is_exactly_some_request_matching_both(a in template(), b in template()) {
            let both = requests()
                .iter()
                .any(|r| matches(&a, r) && matches(&b, r));
            prop_assert_eq!(overlap(&a, &b), both, "{} {}", a, b);
        }
    }

    #[test]
    fn valid_paths() {
        for p in ["/", "/cats", "/cats/{id}", "/v1/{proxy+}", "/a.b/c_d/e-f/g"] {
            assert_eq!(validate(p, true), Ok(()), "{p}");
        }
    }

    #[test]
    fn hostile_paths_are_refused_with_a_bounded_reason() {
        for p in [
            "cats",
            "/cats/",
            "//cats",
            "/cats/../owners",
            "/./x",
            "/a b",
            "/a%2F..",
            "/{proxy+}/x",
            "/{}",
            "/{a-b}",
            "/\u{202e}x",
            "/é",
            // API Gateway answers 400 to a `~` path part: refused here, before any write.
            "/v1/~h",
        ] {
            assert!(validate(p, true).is_err(), "{p}");
        }
        assert!(validate("/{id}", false).is_err());
        let long = format!("/{}", "a".repeat(1000));
        let err = validate(&long, true).unwrap_err();
        assert!(err.len() < 100, "{err}");
        let deep = "/a".repeat(MAX_SEGMENTS + 1);
        assert!(validate(&deep, true).unwrap_err().len() < 120);
    }

    #[test]
    fn tree_arithmetic() {
        assert_eq!(ancestors("/a/b/c"), vec!["/a", "/a/b"]);
        assert!(ancestors("/a").is_empty());
        assert_eq!(split_last("/a/b"), ("/a", "b"));
        assert_eq!(split_last("/a"), ("/", "a"));
        assert_eq!(depth("/"), 0);
        assert_eq!(depth("/a/b"), 2);
        assert!(is_within("/cats/{id}", "/cats"));
        assert!(!is_within("/catsup", "/cats"));
        assert!(is_within("/anything", "/"));
        assert_eq!(parameters("/a/{id}/{proxy+}"), vec!["id", "proxy"]);
        assert_eq!(uri_suffix("/a/{proxy+}"), "/a/{proxy}");
    }
}
