//! Reads a spike file in the SHD layout (any integer width, float16/32/64 times) and writes it again
//! in the exact SHD layout with spikeflux's own HDF5 writer. Used by `tools/check_h5_layout.py` to
//! compare our writer against libhdf5 on the h5py-written fixture:
//!
//! ```text
//! cargo run --release -p spikeflux-core --example shd_copy -- IN.h5 OUT.h5
//! python tools/check_h5_layout.py OUT.h5 --same-as IN.h5
//! ```

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        return Err("usage: shd_copy IN.h5 OUT.h5".into());
    }
    let f = spikeflux_core::data::shd::ShdFile::read(&args[1])?;
    f.write(&args[2])?;
    println!("wrote {} samples to {}", f.labels.len(), args[2]);
    Ok(())
}
