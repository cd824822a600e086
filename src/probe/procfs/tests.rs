//! The stat reader against made-up `/proc` trees: hostile names, processes that vanish,
//! zombies and threads, and the command line read once per process.

use super::*;

/// A stat line for `pid` named `comm`, in `state`, with these flags, CPU ticks, start and
/// resident pages; the other fields are what a sleeping process has.
fn line(pid: u32, comm: &str, state: char, flags: u64, ticks: (u64, u64), start: u64) -> String {
    format!(
        "{pid} ({comm}) {state} 1 {pid} {pid} 0 -1 {flags} 100 0 0 0 {} {} 0 0 20 0 1 0 \
         {start} 8192000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
        ticks.0, ticks.1
    )
}

/// A `/proc` in a temp dir, booted at 1 000 000.
struct Tree {
    dir: tempfile::TempDir,
}

const BOOT: u64 = 1_000_000;

impl Tree {
    fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn put(&self, pid: u32, file: &str, text: &[u8]) {
        let dir = self.dir.path().join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), text).unwrap();
    }

    fn process(&self, pid: u32, stat: &str, tgid: u32, cmdline: &[u8]) {
        self.put(pid, "stat", stat.as_bytes());
        self.put(
            pid,
            "status",
            format!("Name:\tx\nTgid:\t{tgid}\nPid:\t{pid}\n").as_bytes(),
        );
        self.put(pid, "cmdline", cmdline);
    }

    fn procfs(&self) -> Procfs {
        Procfs::at(self.dir.path().to_owned(), BOOT)
    }
}

/// What a case expects: the name, state, CPU ticks and start, or no parse.
type Parsed<'a> = Option<(&'a str, u8, u64, u64)>;

#[test]
fn a_stat_line_is_parsed_from_the_last_parenthesis() {
    let cases: &[(&str, Parsed)] = &[
        (
            &line(7, "sleep", 'S', 0, (3, 4), 500),
            Some(("sleep", b'S', 7, 500)),
        ),
        // A process may name itself anything: spaces, and a `)` followed by fake fields.
        (
            &line(7, "a) Z 1 2 (b", 'R', 0, (1, 1), 9),
            Some(("a) Z 1 2 (b", b'R', 2, 9)),
        ),
        (&line(7, "", 'S', 0, (0, 0), 1), Some(("", b'S', 0, 1))),
        ("7 (cut short) S 1 2", None),
        ("no parentheses at all", None),
        (
            "7 )backwards( S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
            None,
        ),
        ("", None),
        (
            "7 (x) S 1 7 7 0 -1 0 0 0 0 0 many 4 0 0 20 0 1 0 5 1 300",
            None,
        ),
    ];
    for (text, want) in cases {
        let got = parse(text.as_bytes()).map(|s| (s.comm, s.state, s.ticks, s.start));
        let want = want.map(|(c, st, t, s)| (c.to_owned(), st, t, s));
        assert_eq!(got, want, "{text:?}");
    }
    assert_eq!(
        parse(line(7, "x", 'S', 0, (1, 2), 3).as_bytes()).map(|s| s.rss_pages),
        Some(300)
    );
}

#[test]
fn what_each_pid_is_answered() {
    let tree = Tree::new();
    tree.process(
        10,
        &line(10, "my (odd) name", 'S', 0, (5, 5), 250),
        10,
        b"worker\0--id\0\x003\0",
    );
    tree.process(11, &line(11, "dying", 'Z', 0, (5, 5), 250), 11, b"");
    tree.process(
        12,
        &line(12, "thread", 'S', 0, (5, 5), 250),
        10,
        b"worker\0",
    );
    tree.process(
        13,
        &line(13, "kworker/0", 'I', PF_KTHREAD, (0, 0), 3),
        13,
        b"",
    );
    tree.process(14, "garbage", 14, b"x\0");
    tree.process(15, &line(15, "kthreadless", 'S', 0, (0, 0), 3), 15, b"");
    let mut procfs = tree.procfs();
    procfs.refresh(&[10, 11, 12, 13, 14, 15, 99]);
    let alive = procfs.lookup(10).unwrap().alive().unwrap();
    assert_eq!(
        (alive.name.as_str(), alive.cmd.as_str()),
        ("my (odd) name", "worker --id 3")
    );
    let ticks = procfs.ticks_per_sec;
    assert_eq!(alive.start_time, BOOT + 250 / ticks);
    assert_eq!(alive.memory_bytes, 300 * procfs.page_size);
    assert!(alive.cpu_percent.is_nan(), "unknown until a second refresh");
    let answers: Vec<Option<Lookup>> = [11, 12, 13, 14, 99, 100]
        .iter()
        .map(|&pid| procfs.lookup(pid))
        .collect();
    assert_eq!(
        answers,
        [
            Some(Lookup::Gone),    // a zombie
            Some(Lookup::Gone),    // a thread of 10
            Some(Lookup::Gone),    // a kernel thread
            Some(Lookup::Unknown), // not a stat line: cannot tell
            Some(Lookup::Gone),    // vanished before its open
            None,                  // not asked about
        ]
    );
    // An empty command line: the name stands in, as sysinfo has it.
    assert_eq!(
        procfs.lookup(15).unwrap().alive().unwrap().cmd,
        "kthreadless"
    );
}

#[test]
fn the_command_line_is_read_once_per_process() {
    let tree = Tree::new();
    tree.process(
        20,
        &line(20, "job", 'R', 0, (0, 0), 100),
        20,
        b"job --first\0",
    );
    let mut procfs = tree.procfs();
    procfs.refresh(&[20]);
    tree.process(
        20,
        &line(20, "job", 'R', 0, (50, 50), 100),
        20,
        b"job --changed\0",
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    procfs.refresh(&[20]);
    let again = procfs.lookup(20).unwrap().alive().unwrap();
    assert_eq!(
        again.cmd, "job --first",
        "not read again for the same process"
    );
    assert!(
        again.cpu_percent.is_finite() && again.cpu_percent > 0.0,
        "{again:?}"
    );
    // The PID is another process's now (another start time): everything is read afresh.
    tree.process(
        20,
        &line(20, "job", 'R', 0, (0, 0), 900),
        20,
        b"job --reused\0",
    );
    procfs.refresh(&[20]);
    let reused = procfs.lookup(20).unwrap().alive().unwrap();
    assert_eq!(reused.cmd, "job --reused");
    assert!(reused.cpu_percent.is_nan());
    // A refresh without it forgets it.
    procfs.refresh(&[]);
    assert_eq!(procfs.lookup(20), None);
}

#[test]
fn this_process_reads_as_alive_in_the_real_proc() {
    let mut procfs = Procfs::new().expect("Linux has /proc");
    let own = std::process::id();
    procfs.refresh(&[own]);
    let me = procfs.lookup(own).unwrap().alive().unwrap();
    assert_eq!(me.pid, own);
    assert!(me.memory_bytes > 0);
}
