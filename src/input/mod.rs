//! Reading the site: page files → front matter → one [`manifest::Manifest`]
//! of every image entry, with the file and line it came from.

pub mod frontmatter;
pub mod liquid;
pub mod manifest;
