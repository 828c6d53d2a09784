//! Strings and byte buffers across the boundary: reading the host's arguments, and the
//! library-owned results the host gives back to `sotto_string_free` / `sotto_bytes_free`.

use std::ffi::{CStr, CString, c_char};

use crate::abi::{Failure, SOTTO_ERROR_INVALID_UTF8, guard_void};

/// Bytes owned by the library (an image, a QR code). Give them back to `sotto_bytes_free`
/// once; `{NULL, 0}` is an empty buffer and may be freed too.
#[repr(C)]
pub struct SottoBytes {
    /// The first byte (NULL when `len` is 0).
    pub data: *mut u8,
    /// How many bytes.
    pub len: usize,
}

impl SottoBytes {
    pub(crate) fn from_vec(bytes: Vec<u8>) -> Self {
        if bytes.is_empty() {
            return Self {
                data: std::ptr::null_mut(),
                len: 0,
            };
        }
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        Self {
            data: Box::into_raw(boxed).cast::<u8>(),
            len,
        }
    }
}

/// Reads a string argument: NUL-terminated UTF-8, not NULL.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid and unchanged for
/// the lifetime `'a` (the call).
pub(crate) unsafe fn text<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: not NULL, and the caller promises a NUL-terminated string valid for 'a.
    let raw = unsafe { CStr::from_ptr(ptr) };
    raw.to_str().map_err(|e| {
        Failure::new(
            SOTTO_ERROR_INVALID_UTF8,
            format!("`{name}` is not valid UTF-8 (at byte {})", e.valid_up_to()),
        )
    })
}

/// Reads an optional string argument (NULL is `None`).
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn optional_text<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { text(ptr, name) }.map(Some)
    }
}

/// Reads a byte buffer argument: `len` bytes at `ptr`, which may be NULL only when `len`
/// is 0.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that stay valid and unchanged for the
/// lifetime `'a` (the call).
pub(crate) unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], Failure> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(Failure::null(name)),
        // SAFETY: not NULL, and the caller promises `len` readable bytes valid for 'a.
        (false, len) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}

/// A string for C, or a failure if it holds a NUL (never in practice).
pub(crate) fn c_string(value: impl Into<Vec<u8>>) -> Result<CString, Failure> {
    CString::new(value).map_err(|_| Failure::invalid("a result holds a NUL byte"))
}

/// Text from the network or the store (a message, a name, a reason) for C. A NUL, which a C
/// string cannot hold, becomes U+FFFD: nothing is cut short and no event is dropped.
pub(crate) fn c_text(value: &str) -> CString {
    let clean = if value.contains('\0') {
        value.replace('\0', "\u{FFFD}")
    } else {
        value.to_owned()
    };
    CString::new(clean).unwrap_or_default()
}

/// Checks that an output pointer is not NULL.
pub(crate) fn out<T>(ptr: *mut T, name: &str) -> Result<(), Failure> {
    if ptr.is_null() {
        Err(Failure::null(name))
    } else {
        Ok(())
    }
}

/// Writes a library-owned string to `*out` (which [`out`] checked).
///
/// # Safety
/// `target` is a valid, writable pointer.
pub(crate) unsafe fn write_string(target: *mut *mut c_char, value: CString) {
    // SAFETY: the caller checked `target`.
    unsafe { *target = value.into_raw() };
}

/// Frees a string the library returned. NULL is fine.
///
/// # Safety
/// `s` is NULL or a string this library returned and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_string_free(s: *mut c_char) {
    guard_void(|| {
        if !s.is_null() {
            // SAFETY: the caller gives back a string made by `CString::into_raw` here.
            drop(unsafe { CString::from_raw(s) });
        }
    });
}

/// Frees bytes the library returned. An empty buffer is fine.
///
/// # Safety
/// `bytes` is what this library returned, not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sotto_bytes_free(bytes: SottoBytes) {
    guard_void(|| {
        if !bytes.data.is_null() {
            let slice = std::ptr::slice_from_raw_parts_mut(bytes.data, bytes.len);
            // SAFETY: made by `Box::into_raw` of a boxed slice of exactly `len` bytes.
            drop(unsafe { Box::from_raw(slice) });
        }
    });
}
