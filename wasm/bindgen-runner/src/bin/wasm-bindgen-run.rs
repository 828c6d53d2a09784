//! `wasm-bindgen`, under another name (rustc refuses a crate named `wasm-bindgen`): turns
//! `sotto_wasm.wasm` into the npm package's JavaScript glue and TypeScript types.

fn main() -> std::process::ExitCode {
    match wasm_bindgen_cli::wasm_bindgen::run_cli_with_args(std::env::args_os()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:?}");
            std::process::ExitCode::FAILURE
        }
    }
}
