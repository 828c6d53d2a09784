//! The C ABI as a C program uses it: `ffi/tests/c/*.c` are compiled with the system's C
//! compiler against `include/sotto.h` and `libsotto.so` (and once against `libsotto.a`),
//! then run against real relay processes: as they are, under valgrind, and built with the
//! address and undefined-behaviour sanitizers. A C++ translation unit includes the header
//! too, and the exported functions are checked against `ffi/symbols.txt`.

use std::path::Path;
use std::process::Command;

#[path = "common/c_program.rs"]
mod c_program;
#[path = "common/people.rs"]
mod people;
use c_program::{built_library, compile, workspace};
#[path = "common/process.rs"]
mod process;
use people::Relay;

/// Runs the compiled conversation program (through `runner`, e.g. valgrind) against five
/// fresh relays, and fails with its output unless it succeeded.
fn run_conversation(program: &Path, runner: &[&str], env: &[(&str, &str)]) {
    let root = program.parent().expect("a folder");
    let relays: Vec<Relay> = (1..=5)
        .map(|n| Relay::start_with(root, &format!("relay-{n}"), &["--allow-private-hops"]))
        .collect();
    let scratch = root.join("people");
    std::fs::create_dir(&scratch).unwrap();
    let mut command = match runner.split_first() {
        Some((first, rest)) => {
            let mut command = Command::new(first);
            command.args(rest).arg(program);
            command
        }
        None => Command::new(program),
    };
    let output = command
        .envs(env.iter().copied())
        .arg(&scratch)
        .args(relays.iter().map(|relay| relay.address.to_string()))
        .output()
        .expect("run the C program");
    assert!(
        output.status.success(),
        "the C program failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "conversation: ok\n"
    );
}

#[test]
fn two_profiles_meet_and_talk_through_the_c_abi_and_every_error_has_its_code() {
    let root = people::tempdir("sotto-c-abi-");
    let program = root.path().join("conversation");
    compile("cc", "conversation.c", &program, &["-std=c11"]);
    run_conversation(&program, &[], &[]);
}

/// The system libraries a program linked with `libsotto.a` needs besides it (what rustc's
/// `--print native-static-libs` lists for the crate on Linux).
const STATIC_NATIVE_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

#[test]
fn linked_with_the_static_library_the_same_program_passes() {
    let root = people::tempdir("sotto-c-abi-");
    let program = root.path().join("conversation-static");
    let archive = built_library().with_file_name("libsotto.a");
    assert!(archive.is_file(), "no {}", archive.display());
    let status = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(workspace().join("include"))
        .arg(workspace().join("ffi/tests/c/conversation.c"))
        .arg(&archive)
        .args(STATIC_NATIVE_LIBS)
        .arg("-o")
        .arg(&program)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed to link against libsotto.a");
    // Linked statically: the program does not load libsotto.so.
    let dynamic = Command::new("readelf")
        .arg("-d")
        .arg(&program)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&dynamic.stdout).contains("libsotto"));
    run_conversation(&program, &[], &[]);
}

#[test]
fn two_profiles_in_two_processes_meet_and_talk_through_the_c_abi() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;

    let root = people::tempdir("sotto-c-abi-");
    let program = root.path().join("person");
    compile("cc", "person.c", &program, &["-std=c11"]);
    let relays: Vec<Relay> = (1..=5)
        .map(|n| {
            Relay::start_with(
                root.path(),
                &format!("relay-{n}"),
                &["--allow-private-hops"],
            )
        })
        .collect();
    let addresses: Vec<String> = relays.iter().map(|r| r.address.to_string()).collect();
    let mut inviter = Command::new(&program)
        .arg("inviter")
        .arg(root.path().join("inviter"))
        .args(&addresses)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the inviter");
    let mut lines = BufReader::new(inviter.stdout.take().expect("its stdout")).lines();
    let first = lines.next().expect("a line").expect("readable");
    let link = first
        .strip_prefix("link ")
        .expect("the inviter prints its link");
    let invitee = Command::new(&program)
        .arg("invitee")
        .arg(root.path().join("invitee"))
        .arg(link)
        .args(&addresses)
        .output()
        .expect("run the invitee");
    assert!(
        invitee.status.success(),
        "the invitee failed ({}): {}",
        invitee.status,
        String::from_utf8_lossy(&invitee.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&invitee.stdout), "invitee: ok\n");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = inviter.wait().expect("the inviter ends");
    assert!(status.success(), "the inviter failed ({status})");
    assert_eq!(rest, ["inviter: ok"]);
}

#[test]
fn under_valgrind_nothing_leaks_and_no_memory_is_misused() {
    let root = people::tempdir("sotto-c-abi-");
    let program = root.path().join("conversation");
    compile("cc", "conversation.c", &program, &["-std=c11"]);
    run_conversation(
        &program,
        &[
            "valgrind",
            "--quiet",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect",
            "--error-exitcode=1",
            &format!(
                "--suppressions={}",
                workspace().join("ffi/tests/valgrind.supp").display()
            ),
        ],
        &[],
    );
}

#[test]
fn built_with_address_and_undefined_behaviour_sanitizers_it_runs_clean() {
    let root = people::tempdir("sotto-c-abi-");
    let program = root.path().join("conversation");
    compile(
        "clang",
        "conversation.c",
        &program,
        &[
            "-std=c11",
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=all",
        ],
    );
    let suppressions = format!(
        "suppressions={}",
        workspace().join("ffi/tests/lsan.supp").display()
    );
    run_conversation(
        &program,
        &[],
        &[
            // The slow unwinder reads the unwind tables: the fast one follows frame
            // pointers, which the vendored OpenSSL (C, built without debug info) lacks, and
            // its stacks then stop short of the frame the suppressions name.
            (
                "ASAN_OPTIONS",
                "detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0",
            ),
            ("LSAN_OPTIONS", &suppressions),
        ],
    );
}

/// The prototypes listed in `ffi/symbols.txt`.
fn listed_prototypes() -> Vec<String> {
    std::fs::read_to_string(workspace().join("ffi/symbols.txt"))
        .expect("ffi/symbols.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The function prototypes of `include/sotto.h`, each on one line with single spaces.
fn header_prototypes() -> Vec<String> {
    let header = std::fs::read_to_string(workspace().join("include/sotto.h")).unwrap();
    let mut prototypes = Vec::new();
    let mut current: Option<String> = None;
    for line in header.lines() {
        let starts = line.starts_with(|c: char| c.is_ascii_alphabetic())
            && !line.starts_with("typedef")
            && line.contains("sotto_")
            && line.contains('(');
        match current.as_mut() {
            Some(open) => open.push_str(line),
            None if starts => current = Some(line.to_owned()),
            None => continue,
        }
        if line.trim_end().ends_with(';') {
            let joined = current.take().unwrap_or_default();
            prototypes.push(joined.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    prototypes
}

/// A prototype's function name.
fn name_of(prototype: &str) -> String {
    let before = prototype.split('(').next().unwrap_or_default();
    before
        .rsplit([' ', '*'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn no_function_of_the_stable_abi_disappears_or_changes() {
    let header = header_prototypes();
    let listed = listed_prototypes();
    let gone_or_changed: Vec<&String> = listed.iter().filter(|p| !header.contains(p)).collect();
    let unlisted: Vec<&String> = header.iter().filter(|p| !listed.contains(p)).collect();
    assert!(
        gone_or_changed.is_empty(),
        "functions of the stable ABI disappeared or changed: {gone_or_changed:#?}"
    );
    assert!(
        unlisted.is_empty(),
        "new functions: add their prototypes to ffi/symbols.txt and bump \
         SOTTO_ABI_VERSION_MINOR: {unlisted:#?}"
    );
}

#[test]
fn the_library_exports_exactly_the_listed_functions() {
    let output = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(built_library())
        .output()
        .expect("run nm");
    let mut exported: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                [_, "T", name] => Some(name.to_owned()),
                _ => None,
            },
        )
        .collect();
    exported.sort();
    let mut listed: Vec<String> = listed_prototypes().iter().map(|p| name_of(p)).collect();
    listed.sort();
    assert_eq!(
        exported, listed,
        "exported functions (nm -D) against ffi/symbols.txt"
    );
}

#[test]
fn the_header_compiles_as_c_plus_plus_too() {
    let root = people::tempdir("sotto-c-abi-");
    let object = root.path().join("header.o");
    let status = Command::new("c++")
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-c"])
        .arg("-I")
        .arg(workspace().join("include"))
        .arg(workspace().join("ffi/tests/c/header.cpp"))
        .arg("-o")
        .arg(&object)
        .status()
        .expect("run c++");
    assert!(status.success(), "c++ failed on the header");
}
