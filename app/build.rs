// `sqlx::migrate!` embeds the migration files at compile time; without this, a cached build
// whose Rust sources did not change would ship without a newly added migration.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
