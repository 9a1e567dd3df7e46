//! `chancery-sim`'s arguments: every flag the docs use parses to its meaning, and a typo
//! is an error naming it rather than being ignored.

use chancery_sim::{replay_command, Args, SCENARIOS};
use clap::Parser;

fn parse(line: &str) -> Result<Args, clap::Error> {
    Args::try_parse_from(line.split_whitespace())
}

#[test]
fn the_documented_commands_parse() {
    let a = parse("chancery-sim --seeds 100000 --scenario crash --start 7").unwrap();
    assert_eq!((a.first_seed(), a.seed_count()), (7, 100_000));
    assert_eq!(a.scenarios(), vec!["crash".to_string()]);

    let a = parse("chancery-sim").unwrap();
    assert_eq!((a.first_seed(), a.seed_count(), a.measure), (0, 100, false));
    assert_eq!(a.scenarios().len(), SCENARIOS.len());

    let a = parse("chancery-sim --measure").unwrap();
    assert!(a.measure);

    // The replay line a violation prints.
    let line = replay_command("byz-equivocate", 17);
    let (_, args) = line.split_once(" -- ").unwrap();
    let a = parse(&format!("chancery-sim {args}")).unwrap();
    assert_eq!((a.first_seed(), a.seed_count()), (17, 1));
    assert_eq!(a.scenarios(), vec!["byz-equivocate".to_string()]);
}

#[test]
fn an_unknown_flag_is_an_error_naming_it() {
    let e = parse("chancery-sim --seedz 3").unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
    assert!(e.to_string().contains("--seedz"), "{e}");
}

#[test]
fn an_unknown_scenario_is_an_error_naming_it() {
    let e = parse("chancery-sim --scenario hapy").unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
    assert!(e.to_string().contains("hapy"), "{e}");
}

#[test]
fn a_bad_number_or_clashing_flags_are_errors() {
    assert!(parse("chancery-sim --seeds many").is_err());
    assert!(parse("chancery-sim --seed 3 --seeds 5").is_err());
    assert!(parse("chancery-sim --measure --scenario crash").is_err());
}
