//! XGBoost's and LightGBM's inference through their C APIs, loaded at run time from the
//! shared libraries in `.venv` (`cargo xtask peers`), so `marquee bench gbdt` times the
//! peers with the same Rust timer and loop as Marquee, with no Python in the timed calls.
//!
//! The libraries are opened with `libloading` rather than linked: the CLI must build and run
//! on machines without the peers, and the library paths are only known once the venv is.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;

use anyhow::{Context, Result};
use libloading::Library;

type Handle = *mut c_void;

/// Looks up `name` in `library` and copies out the function pointer.
///
/// # Safety
/// `F` must be the symbol's exact C signature, and the pointer must not outlive `library`.
unsafe fn symbol<F: Copy>(library: &Library, name: &str) -> Result<F> {
    let name_z = format!("{name}\0");
    // SAFETY: the caller guarantees `F` is the symbol's signature.
    let found = unsafe { library.get::<F>(name_z.as_bytes()) }.with_context(|| format!("no symbol {name}"))?;
    Ok(*found)
}

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.to_string_lossy().as_bytes()).context("a path with a NUL byte")
}

/// An XGBoost booster loaded from a model file, predicting with `XGBoosterPredictFromDense`.
pub struct Xgboost {
    booster: Handle,
    set_param: unsafe extern "C" fn(Handle, *const c_char, *const c_char) -> c_int,
    predict_from_dense: unsafe extern "C" fn(
        Handle,
        *const c_char,
        *const c_char,
        Handle,
        *mut *const u64,
        *mut u64,
        *mut *const f32,
    ) -> c_int,
    last_error: unsafe extern "C" fn() -> *const c_char,
    free: unsafe extern "C" fn(Handle) -> c_int,
    /// Kept open for as long as the function pointers above are used.
    _library: Library,
}

/// A row-major f32 block as XGBoost's array-interface JSON, pointing at `rows`' memory.
pub fn array_interface(rows: &[f32], width: usize) -> CString {
    let text = format!(
        "{{\"data\": [{}, true], \"shape\": [{}, {width}], \"typestr\": \"<f4\", \"version\": 3}}",
        rows.as_ptr() as usize,
        rows.len() / width
    );
    CString::new(text).unwrap_or_default()
}

impl Xgboost {
    /// Opens `library` (libxgboost.so) and loads `model` (a `.ubj` or `.json` file).
    pub fn load(library: &Path, model: &Path) -> Result<Xgboost> {
        // SAFETY: loading XGBoost's own library runs only its initialisers.
        let library = unsafe { Library::new(library) }.with_context(|| format!("opening {}", library.display()))?;
        // SAFETY: the signatures are those of xgboost/c_api.h (3.x); bst_ulong is uint64_t.
        let (create, load_model, set_param, predict_from_dense, last_error, free) = unsafe {
            (
                symbol::<unsafe extern "C" fn(*const Handle, u64, *mut Handle) -> c_int>(&library, "XGBoosterCreate")?,
                symbol::<unsafe extern "C" fn(Handle, *const c_char) -> c_int>(&library, "XGBoosterLoadModel")?,
                symbol(&library, "XGBoosterSetParam")?,
                symbol(&library, "XGBoosterPredictFromDense")?,
                symbol::<unsafe extern "C" fn() -> *const c_char>(&library, "XGBGetLastError")?,
                symbol::<unsafe extern "C" fn(Handle) -> c_int>(&library, "XGBoosterFree")?,
            )
        };
        let mut booster: Handle = std::ptr::null_mut();
        // SAFETY: no training matrices (null, 0); `booster` receives the handle.
        let status = unsafe { create(std::ptr::null(), 0, &mut booster) };
        let xgboost = Xgboost { booster, set_param, predict_from_dense, last_error, free, _library: library };
        xgboost.check(status, "XGBoosterCreate")?;
        let path = c_path(model)?;
        // SAFETY: a live booster and a NUL-terminated path.
        xgboost.check(unsafe { load_model(xgboost.booster, path.as_ptr()) }, "XGBoosterLoadModel")?;
        Ok(xgboost)
    }

    fn check(&self, status: c_int, call: &str) -> Result<()> {
        if status == 0 {
            return Ok(());
        }
        // SAFETY: XGBoost returns a NUL-terminated thread-local message.
        let message = unsafe { CStr::from_ptr((self.last_error)()) }.to_string_lossy().into_owned();
        anyhow::bail!("{call} failed: {message}")
    }

    /// Sets the booster's `nthread` (the threads one prediction call may use).
    pub fn set_threads(&self, threads: usize) -> Result<()> {
        let (name, value) = (c"nthread", CString::new(threads.to_string())?);
        // SAFETY: a live booster and NUL-terminated strings.
        self.check(unsafe { (self.set_param)(self.booster, name.as_ptr(), value.as_ptr()) }, "XGBoosterSetParam")
    }

    /// Predicts the rows `interface` describes (see [`array_interface`]; the memory it
    /// points at must be alive) into `out`, one value per row.
    pub fn predict(&self, interface: &CStr, out: &mut [f32]) -> Result<()> {
        const CONFIG: &CStr = c"{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, \"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}";
        let (mut shape, mut dims, mut result): (*const u64, u64, *const f32) = (std::ptr::null(), 0, std::ptr::null());
        // SAFETY: a live booster, NUL-terminated JSON, no proxy matrix (null); XGBoost owns
        // the result buffer until the next call on this thread.
        let status = unsafe {
            (self.predict_from_dense)(
                self.booster,
                interface.as_ptr(),
                CONFIG.as_ptr(),
                std::ptr::null_mut(),
                &mut shape,
                &mut dims,
                &mut result,
            )
        };
        self.check(status, "XGBoosterPredictFromDense")?;
        // SAFETY: one prediction per row for this single-output model: `out.len()` floats.
        out.copy_from_slice(unsafe { std::slice::from_raw_parts(result, out.len()) });
        Ok(())
    }
}

impl Drop for Xgboost {
    fn drop(&mut self) {
        // SAFETY: the booster was created by this library and is freed once.
        unsafe { (self.free)(self.booster) };
    }
}

/// `C_API_DTYPE_FLOAT32` and `C_API_PREDICT_NORMAL` of LightGBM's c_api.h.
const LGBM_FLOAT32: c_int = 0;
const LGBM_PREDICT_NORMAL: c_int = 0;

/// A LightGBM booster loaded from a model file.
pub struct Lightgbm {
    booster: Handle,
    width: usize,
    fast_init: unsafe extern "C" fn(Handle, c_int, c_int, c_int, c_int, i32, *const c_char, *mut Handle) -> c_int,
    fast_predict: unsafe extern "C" fn(Handle, *const c_void, *mut i64, *mut f64) -> c_int,
    fast_free: unsafe extern "C" fn(Handle) -> c_int,
    predict_for_mat: unsafe extern "C" fn(
        Handle,
        *const c_void,
        c_int,
        i32,
        i32,
        c_int,
        c_int,
        c_int,
        c_int,
        *const c_char,
        *mut i64,
        *mut f64,
    ) -> c_int,
    last_error: unsafe extern "C" fn() -> *const c_char,
    free: unsafe extern "C" fn(Handle) -> c_int,
    /// Kept open for as long as the function pointers above are used.
    _library: Library,
}

/// LightGBM's single-row predictor (`LGBM_BoosterPredictForMatSingleRowFast`), set up once.
pub struct LightgbmSingleRow<'a> {
    lightgbm: &'a Lightgbm,
    config: Handle,
}

impl Lightgbm {
    /// Opens `library` (lib_lightgbm.so) and loads `model` (LightGBM's text format) for rows
    /// of `width` features.
    pub fn load(library: &Path, model: &Path, width: usize) -> Result<Lightgbm> {
        // SAFETY: loading LightGBM's own library runs only its initialisers.
        let library = unsafe { Library::new(library) }.with_context(|| format!("opening {}", library.display()))?;
        // SAFETY: the signatures are those of LightGBM/c_api.h (4.x).
        let (create, fast_init, fast_predict, fast_free, predict_for_mat, last_error, free) = unsafe {
            (
                symbol::<unsafe extern "C" fn(*const c_char, *mut c_int, *mut Handle) -> c_int>(
                    &library,
                    "LGBM_BoosterCreateFromModelfile",
                )?,
                symbol(&library, "LGBM_BoosterPredictForMatSingleRowFastInit")?,
                symbol(&library, "LGBM_BoosterPredictForMatSingleRowFast")?,
                symbol(&library, "LGBM_FastConfigFree")?,
                symbol(&library, "LGBM_BoosterPredictForMat")?,
                symbol::<unsafe extern "C" fn() -> *const c_char>(&library, "LGBM_GetLastError")?,
                symbol(&library, "LGBM_BoosterFree")?,
            )
        };
        let path = c_path(model)?;
        let (mut booster, mut iterations): (Handle, c_int) = (std::ptr::null_mut(), 0);
        // SAFETY: a NUL-terminated path; the outputs are written by the call.
        let status = unsafe { create(path.as_ptr(), &mut iterations, &mut booster) };
        let lightgbm = Lightgbm {
            booster,
            width,
            fast_init,
            fast_predict,
            fast_free,
            predict_for_mat,
            last_error,
            free,
            _library: library,
        };
        lightgbm.check(status, "LGBM_BoosterCreateFromModelfile")?;
        Ok(lightgbm)
    }

    fn check(&self, status: c_int, call: &str) -> Result<()> {
        if status == 0 {
            return Ok(());
        }
        // SAFETY: LightGBM returns a NUL-terminated thread-local message.
        let message = unsafe { CStr::from_ptr((self.last_error)()) }.to_string_lossy().into_owned();
        anyhow::bail!("{call} failed: {message}")
    }

    fn parameters(threads: usize) -> Result<CString> {
        Ok(CString::new(format!("num_threads={threads}"))?)
    }

    /// The single-row fast path on `threads` threads (LightGBM's `num_threads`).
    pub fn single_row(&self, threads: usize) -> Result<LightgbmSingleRow<'_>> {
        let parameters = Self::parameters(threads)?;
        let mut config: Handle = std::ptr::null_mut();
        // SAFETY: a live booster; all iterations from the first (0, -1); f32 rows of `width`.
        let status = unsafe {
            (self.fast_init)(
                self.booster,
                LGBM_PREDICT_NORMAL,
                0,
                -1,
                LGBM_FLOAT32,
                i32::try_from(self.width)?,
                parameters.as_ptr(),
                &mut config,
            )
        };
        self.check(status, "LGBM_BoosterPredictForMatSingleRowFastInit")?;
        Ok(LightgbmSingleRow { lightgbm: self, config })
    }

    /// Predicts row-major `rows` on `threads` threads into `out`, one value per row.
    pub fn predict(&self, rows: &[f32], threads: usize, out: &mut [f64]) -> Result<()> {
        let count = rows.len() / self.width;
        anyhow::ensure!(out.len() == count, "{} outputs for {count} rows", out.len());
        let parameters = Self::parameters(threads)?;
        let mut written = 0i64;
        // SAFETY: `rows` holds `count` rows of `width` f32s; `out` has room for one double per
        // row, the normal prediction of a single-output model.
        let status = unsafe {
            (self.predict_for_mat)(
                self.booster,
                rows.as_ptr().cast(),
                LGBM_FLOAT32,
                i32::try_from(count)?,
                i32::try_from(self.width)?,
                1,
                LGBM_PREDICT_NORMAL,
                0,
                -1,
                parameters.as_ptr(),
                &mut written,
                out.as_mut_ptr(),
            )
        };
        self.check(status, "LGBM_BoosterPredictForMat")?;
        anyhow::ensure!(written == count as i64, "LightGBM wrote {written} predictions for {count} rows");
        Ok(())
    }
}

impl LightgbmSingleRow<'_> {
    /// Predicts one row of the booster's width.
    pub fn predict(&self, row: &[f32]) -> Result<f64> {
        anyhow::ensure!(
            row.len() == self.lightgbm.width,
            "a row of {} features, not {}",
            row.len(),
            self.lightgbm.width
        );
        let (mut written, mut out) = (0i64, 0f64);
        // SAFETY: a live fast config for f32 rows of this width; one output for this model.
        let status = unsafe { (self.lightgbm.fast_predict)(self.config, row.as_ptr().cast(), &mut written, &mut out) };
        self.lightgbm.check(status, "LGBM_BoosterPredictForMatSingleRowFast")?;
        Ok(out)
    }
}

impl Drop for LightgbmSingleRow<'_> {
    fn drop(&mut self) {
        // SAFETY: the config was made by this library and is freed once.
        unsafe { (self.lightgbm.fast_free)(self.config) };
    }
}

impl Drop for Lightgbm {
    fn drop(&mut self) {
        // SAFETY: the booster was created by this library and is freed once.
        unsafe { (self.free)(self.booster) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_array_interface_describes_the_rows_in_place() {
        let rows = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let text = array_interface(&rows, 3).into_string().unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["data"][0].as_u64(), Some(rows.as_ptr() as u64));
        assert_eq!(parsed["data"][1], true, "read-only");
        assert_eq!(parsed["shape"], serde_json::json!([2, 3]));
        assert_eq!(parsed["typestr"], "<f4");
    }

    #[test]
    fn a_missing_library_is_an_error_not_a_crash() {
        let missing = Path::new("/nonexistent/libxgboost.so");
        let error = Xgboost::load(missing, Path::new("model.ubj")).err().unwrap();
        assert!(format!("{error:#}").contains("/nonexistent/libxgboost.so"), "{error:#}");
        assert!(Lightgbm::load(missing, Path::new("model.txt"), 3).is_err());
    }
}
