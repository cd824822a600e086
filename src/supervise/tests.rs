//! The supervisor's orders: the stop order, and what it marks in a report.
use super::*;

fn config(text: &str) -> Config {
    Config::parse(text, Path::new("/c/hbmon.toml")).unwrap()
}

#[test]
fn processes_stop_dependents_first() {
    let config = config(
        "[[process]]\nname = \"web\"\nrun = \"w\"\ndepends_on = [\"api\"]\n\
         [[process]]\nname = \"plain\"\n\
         [[process]]\nname = \"api\"\nrun = \"a\"\ndepends_on = [\"db\", \"plain\"]\n\
         [[process]]\nname = \"db\"\nrun = \"d\"\n",
    );
    assert_eq!(stop_order(&config), ["web", "api", "db"]);
}

#[test]
fn the_lock_is_a_sidecar_of_the_file() {
    assert_eq!(
        lock_path(Path::new("/d/hb.json")),
        Path::new("/d/hb.json.supervise.lock")
    );
}
