//! The `scenarios generate` command: a national-format file (CSV, or an `.xlsx`
//! workbook) of synthetic records.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use credithub_protocol::ids::DivisionCode;
use indicatif::{ProgressBar, ProgressStyle};

use super::csvfile::{write_csv, CsvOptions, Encoding, FileKind, HeaderStyle};
use super::listfile::{write_list_csv, ListFile};
use super::xlsxfile::write_xlsx;
use super::{GenerateError, Generator, GeneratorConfig};
use credithub_protocol::RecordKind;

/// Arguments of `scenarios generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Origin jurisdiction: a GB/T 2260 code (a county, a city such as 320500, a
    /// province such as 320000, or 000000 for national).
    #[arg(long, default_value = "320500")]
    pub origin: DivisionCode,
    /// Which file to write.
    #[arg(long, value_enum)]
    pub kind: GeneratedFile,
    /// Number of data rows.
    #[arg(long, default_value_t = 100_000)]
    pub count: u64,
    /// Seed: the same seed and arguments give the same file, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The layout of a penalty or licence file: today's codes (`codes`, alias
    /// `current`) or Chinese headers (`chinese`), the pre-2019 codes (`pre-2019`), or
    /// the 2016 layout with Chinese headers (`2016`).
    #[arg(long, alias = "headers", value_enum, default_value_t = HeaderStyle::Codes)]
    pub layout: HeaderStyle,
    /// Output encoding.
    #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
    pub encoding: Encoding,
    /// Fraction of rows to break on purpose (0-1), to exercise importers' rejects.
    #[arg(long, default_value_t = 0.0)]
    pub bad_rows: f64,
    /// Where to list the broken rows: one `LINE<TAB>COLUMN<TAB>FAULT` per line.
    #[arg(long)]
    pub bad_lines: Option<PathBuf>,
    /// Distinct subjects (default: max(1000, count/5)).
    #[arg(long)]
    pub pool: Option<usize>,
    /// The file format (default: `xlsx` when the output file's name ends in `.xlsx`,
    /// else `csv`). Workbooks are for penalty and licence files.
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// The file to write.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// The format of a generated file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// CSV text.
    Csv,
    /// An Excel workbook of one sheet, with the templates' title row.
    Xlsx,
}

impl GenerateArgs {
    /// The format asked for, or told by the output file's name.
    fn output_format(&self) -> OutputFormat {
        self.format.unwrap_or_else(|| {
            let xlsx = self
                .out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
            if xlsx {
                OutputFormat::Xlsx
            } else {
                OutputFormat::Csv
            }
        })
    }
}

/// What `scenarios generate` did, printed as one line.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The file written.
    pub out: PathBuf,
    /// Its kind.
    pub kind: GeneratedFile,
    /// The origin jurisdiction.
    pub origin: DivisionCode,
    /// Data rows written.
    pub rows: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Rows broken on purpose.
    pub bad_rows: usize,
    /// Where the broken rows are listed, if asked.
    pub bad_lines: Option<PathBuf>,
    /// Encoding used.
    pub encoding: Encoding,
    /// Wall-clock time, including building the subject pool.
    pub elapsed: Duration,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.rows as f64 / secs
        } else {
            0.0
        };
        let encoding = match self.encoding {
            Encoding::Utf8 => "UTF-8",
            Encoding::Gb18030 => "GB18030",
        };
        write!(
            f,
            "wrote {} {} rows (origin {}, {encoding}, {:.1} MiB) to {} in {secs:.2} s ({rate:.0} rows/s)",
            self.rows,
            self.kind,
            self.origin,
            self.bytes as f64 / (1024.0 * 1024.0),
            self.out.display(),
        )?;
        if self.bad_rows > 0 {
            write!(f, "; {} rows broken on purpose", self.bad_rows)?;
            if let Some(p) = &self.bad_lines {
                write!(f, " (listed in {})", p.display())?;
            }
        }
        Ok(())
    }
}

/// The files `scenarios generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GeneratedFile {
    /// Administrative penalties (`CF_…` columns or Chinese headers).
    Penalty,
    /// Administrative licences (`XK_…` columns or Chinese headers).
    #[value(alias = "license")]
    Licence,
    /// Red- and black-list entries (about a third red), with Chinese headers.
    Lists,
    /// Dishonest judgment debtors as courts publish them.
    DishonestDebtor,
    /// Old and new codes of organisations (新旧代码映射).
    Mapping,
}

impl fmt::Display for GeneratedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GeneratedFile::Penalty => "penalty",
            GeneratedFile::Licence => "licence",
            GeneratedFile::Lists => "list",
            GeneratedFile::DishonestDebtor => "dishonest-debtor",
            GeneratedFile::Mapping => "code-mapping",
        })
    }
}

/// Runs `scenarios generate`: writes the file, with a progress bar when stderr is a
/// terminal.
pub fn run(args: &GenerateArgs) -> Result<Summary, GenerateError> {
    let start = Instant::now();
    let mut config = GeneratorConfig::for_count(args.origin, args.count);
    if args.kind == GeneratedFile::Mapping {
        // One row per organisation: enough of them to draw from.
        config.pool_size = config
            .pool_size
            .max((args.count as usize).saturating_mul(3));
    }
    if let Some(pool) = args.pool {
        config.pool_size = pool;
    }
    let mut generator = Generator::new(args.seed, config)?;
    let xlsx = args.output_format() == OutputFormat::Xlsx;
    let bar = if std::io::stderr().is_terminal() {
        let style = ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        ProgressBar::new(args.count).with_style(style)
    } else {
        ProgressBar::hidden()
    };
    let csv_kind = match args.kind {
        GeneratedFile::Penalty => Some(FileKind::Penalty),
        GeneratedFile::Licence => Some(FileKind::Licence),
        _ => None,
    };
    let report = if let Some(csv_kind) = csv_kind {
        let kind = csv_kind.record_kind();
        let bodies = (0..args.count).map(|i| {
            if i % 4096 == 4095 {
                bar.inc(4096);
            }
            generator.record(kind)
        });
        let options = CsvOptions {
            headers: args.layout,
            encoding: args.encoding,
            bad_rows: args.bad_rows,
            seed: args.seed,
        };
        if xlsx {
            let sheet = match csv_kind {
                FileKind::Penalty => "行政处罚",
                FileKind::Licence => "行政许可",
            };
            write_xlsx(csv_kind, bodies, &args.out, sheet, &options)?
        } else {
            let out = BufWriter::with_capacity(1 << 20, File::create(&args.out)?);
            write_csv(csv_kind, bodies, out, &options)?
        }
    } else {
        if xlsx {
            return Err(GenerateError::Config(
                "workbooks (xlsx) are for penalty and licence files".into(),
            ));
        }
        let out = BufWriter::with_capacity(1 << 20, File::create(&args.out)?);
        if args.bad_rows > 0.0 {
            return Err(GenerateError::Config(
                "--bad-rows is for penalty and licence files".into(),
            ));
        }
        let (file, kinds): (ListFile, &[RecordKind]) = match args.kind {
            GeneratedFile::Lists => (
                ListFile::Lists,
                &[
                    RecordKind::BLACK_LIST,
                    RecordKind::BLACK_LIST,
                    RecordKind::RED_LIST,
                ],
            ),
            GeneratedFile::DishonestDebtor => (ListFile::Court, &[RecordKind::DISHONEST_DEBTOR]),
            _ => (ListFile::Mapping, &[RecordKind::PENALTY]),
        };
        // A mapping file has a row per organisation: draw until `count` of them.
        let mut seen = std::collections::HashSet::new();
        let mut bodies = Vec::new();
        let mut drawn = 0u64;
        while (bodies.len() as u64) < args.count && drawn < args.count.saturating_mul(20) {
            let kind = kinds[drawn as usize % kinds.len()];
            drawn += 1;
            let body = generator.record(kind);
            let organisation =
                matches!(body.subject.id, credithub_protocol::ids::SubjectId::Uscc(_));
            if file == ListFile::Mapping && !(organisation && seen.insert(body.subject.id)) {
                continue;
            }
            bodies.push((kind, body));
        }
        let (rows, bytes) = write_list_csv(file, bodies, out, args.encoding == Encoding::Gb18030)?;
        super::csvfile::CsvReport {
            rows,
            bytes,
            bad: Vec::new(),
        }
    };
    bar.finish_and_clear();
    if let Some(path) = &args.bad_lines {
        let mut w = BufWriter::new(File::create(path)?);
        for b in &report.bad {
            writeln!(w, "{}\t{}\t{}", b.line, b.column, b.fault)?;
        }
        w.flush()?;
    }
    Ok(Summary {
        out: args.out.clone(),
        kind: args.kind,
        origin: args.origin,
        rows: report.rows,
        bytes: report.bytes,
        bad_rows: report.bad.len(),
        bad_lines: args.bad_lines.clone(),
        encoding: args.encoding,
        elapsed: start.elapsed(),
    })
}
