//! The command line: every command, option and `--help` text (clap
//! derives the parser from these types).

use assetmill::Shard;
use assetmill::config::RemoteMode;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "assetmill",
    version,
    about = "The image asset pipeline for static sites"
)]
pub struct Cli {
    /// Configuration file (default: assetmill.yml in the working directory, if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Folder of pages with YAML front matter (overrides `content`).
    #[arg(long, global = true, value_name = "DIR")]
    pub content: Option<PathBuf>,
    /// Image root that front-matter paths are relative to (overrides `images`).
    #[arg(long, global = true, value_name = "DIR")]
    pub images: Option<PathBuf>,
    /// Output folder (overrides `out`).
    #[arg(long, global = true, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', global = true, value_name = "N")]
    pub jobs: Option<usize>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// How to report progress: `bars` on a terminal's stderr, or `ndjson`:
    /// one JSON event per line on stdout as work happens (the human report
    /// then goes to stderr).
    #[arg(long, global = true, value_enum, default_value_t = ProgressMode::Bars)]
    pub progress: ProgressMode,
    /// A cache shared between machines (overrides `remote_cache.url`;
    /// default: $ASSETMILL_REMOTE_CACHE): s3://BUCKET/PREFIX on any
    /// S3-compatible store (endpoint, region and keys from
    /// AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY), or https://HOST/PATH, read-only.
    #[arg(long, global = true, value_name = "URL")]
    pub remote_cache: Option<String>,
    /// What to do with the remote cache: fetch and store (read-write),
    /// only fetch (read-only: for untrusted builds such as pull requests
    /// from forks), or nothing (off). Overrides `remote_cache.mode`;
    /// default: $ASSETMILL_REMOTE_CACHE_MODE.
    #[arg(long, global = true, value_name = "MODE", value_parser = remote_mode())]
    pub remote_cache_mode: Option<RemoteMode>,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the arguments (exiting on `--help`, `--version` or a usage
    /// error). `--version` also says whether AV1 runs with SIMD here, and
    /// if not, how to get it.
    pub fn from_env() -> Cli {
        let av1 = assetmill::Av1Simd::default();
        let version = env!("CARGO_PKG_VERSION");
        let long = match (&av1.simd, av1.fix) {
            (Some(level), _) => format!("{version}\nAV1: rav1e with SIMD ({level})"),
            (None, fix) => format!(
                "{version}\nAV1: rav1e without SIMD, about 4-5x slower; fix: {}",
                fix.unwrap_or_default()
            ),
        };
        let matches = Cli::command().long_version(long).get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Validate, then write thumbnails, optimized copies, GIFs, sprite
    /// sheets and the asset map into the output folder. Incremental: only
    /// what changed is rebuilt; outputs whose source left the pages are removed.
    Build {
        /// List what would be rebuilt or removed, and why; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Verify that every output is up to date: exit 0 if so, else 1 with
        /// one line per output to build or remove. Writes nothing.
        #[arg(long, conflicts_with = "dry_run")]
        check: bool,
        /// Explain one output (a path in the output folder, e.g.
        /// muscles/gif/Arm.gif) or every output of one source (a path as
        /// written in front matter): what it is made from, the settings that
        /// shape it, the pages that use it, and whether a build would remake
        /// it and why. Writes nothing; exit 0 if up to date, 1 if a build
        /// would remake it, 2 if PATH is unknown.
        #[arg(long, value_name = "PATH", conflicts_with_all = ["dry_run", "check", "shard"])]
        explain: Option<String>,
        /// Build only shard I of N (1 <= I <= N) into an output folder of its
        /// own, for a CI matrix; join the folders with `merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<Shard>,
        /// Report format (json: one document for CI).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Join the output folders of `build --shard I/N` jobs into --out, as
    /// one `build` would have written it (then a `build` there builds
    /// nothing). Refuses missing, overlapping or mismatched shards.
    Merge {
        /// The shard output folders, every shard 1..N once.
        #[arg(required = true, value_name = "SHARD_OUT")]
        shards: Vec<PathBuf>,
        /// Report format (json: one document for CI).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Remove every file assetmill recorded making in the output folder
    /// (and its cache); anything else there is left alone.
    Clean,
    /// Build, then rebuild after every saved change to the pages, the
    /// images or the configuration (only what the change touches), until
    /// Ctrl-C. One line per round; problems are listed until fixed, and a
    /// bad edit never ends the watch. With `--progress ndjson`, each
    /// round's events and `finish` go to stdout.
    Watch {
        /// How long a file must be quiet before its change counts, in
        /// milliseconds (a burst of saved frames is one batch).
        #[arg(long, default_value_t = 200, value_name = "MS")]
        debounce: u64,
    },
    /// Read every page and validate every image it references.
    Check {
        /// Report format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write a synthetic site (pages + rendered frames), or with
    /// --from-pages, render every image an existing page tree references.
    Synth {
        /// Folder to create the site in (content/ and assets/ inside it).
        #[arg(required_unless_present = "from_pages", conflicts_with = "from_pages")]
        dir: Option<PathBuf>,
        /// Render images for the pages in this folder into --images ROOT.
        #[arg(long, value_name = "PAGES_DIR", requires = "images")]
        from_pages: Option<PathBuf>,
        /// Number of muscle pages.
        #[arg(long, default_value_t = 4)]
        pages: usize,
        /// Rotation frames per page.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
        frames: u32,
        /// Frame size in pixels (square).
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(16..=8192))]
        size: u32,
        /// Transparent backgrounds.
        #[arg(long)]
        alpha: bool,
        /// Seed for names, shapes and colours.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// What the frames show: one muscle-like body; several glossy
        /// objects of different hues with fine specular detail; or the
        /// muscle with dense fibre stripes (about 4 px apart at 600 px)
        /// and a hard highlight, the hard case for the video encoders.
        #[arg(long, value_enum, default_value_t = Scene::Muscle)]
        scene: Scene,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scene {
    Muscle,
    Objects,
    Fibres,
}

/// `--remote-cache-mode`: the configuration's modes, by their names
/// (listed in `--help` and in the error for any other value).
fn remote_mode() -> impl clap::builder::TypedValueParser<Value = RemoteMode> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(RemoteMode::ALL.map(RemoteMode::name))
        .try_map(|name| RemoteMode::parse(&name).ok_or("not a remote cache mode"))
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    Bars,
    Ndjson,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}
