//! Same-audio duplicates: the WAV and FLAC encodings of one recording, and a
//! re-tagged MP3 and its original, are grouped; different audio never is.

use std::path::Path;
use std::process::Command;

use audiovault_tests::*;

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tone(path: &Path, freq: u32, seconds: u32) {
    let src = format!("sine=f={freq}:d={seconds}:r=44100");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &src,
        "-ac",
        "2",
        "-c:a",
        "pcm_s16le",
        path.to_str().unwrap(),
    ]);
}

#[test]
fn same_audio_in_other_files_is_grouped_and_different_audio_is_not() {
    let v = TestVault::new();
    let dir = v.scratch_dir("same-audio");
    let wav = dir.join("take.wav");
    let flac = dir.join("take.flac");
    let mp3 = dir.join("song.mp3");
    let retagged = dir.join("song retagged.mp3");
    let other = dir.join("other.wav");
    let other_mp3 = dir.join("other encode.mp3");
    tone(&wav, 440, 4);
    ffmpeg(&[
        "-i",
        wav.to_str().unwrap(),
        "-c:a",
        "flac",
        "-metadata",
        "title=Take (FLAC)",
        flac.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-i",
        wav.to_str().unwrap(),
        "-c:a",
        "libmp3lame",
        "-b:a",
        "192k",
        "-metadata",
        "title=Song",
        mp3.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-i",
        mp3.to_str().unwrap(),
        "-map",
        "0",
        "-c",
        "copy",
        "-metadata",
        "title=Retagged",
        "-metadata",
        "comment=changed",
        retagged.to_str().unwrap(),
    ]);
    tone(&other, 523, 4);
    // The same recording encoded again is different audio for a lossy codec.
    ffmpeg(&[
        "-i",
        wav.to_str().unwrap(),
        "-c:a",
        "libmp3lame",
        "-b:a",
        "128k",
        other_mp3.to_str().unwrap(),
    ]);

    let report = v.import(&[&dir]);
    assert_eq!(report.count("imported"), 6, "{}", report.run);
    let id_of = |p: &Path| {
        report.entry(p)["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id for {}", p.display()))
            .to_string()
    };

    let dups = v.json(["duplicates"]);
    let groups: Vec<Vec<String>> = dups["same_audio"]
        .as_array()
        .expect("same_audio is a list")
        .iter()
        .map(|g| {
            let mut ids: Vec<String> = g["tracks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        })
        .collect();
    let mut lossless = vec![id_of(&wav), id_of(&flac)];
    lossless.sort();
    let mut lossy = vec![id_of(&mp3), id_of(&retagged)];
    lossy.sort();
    assert!(
        groups.contains(&lossless),
        "WAV and FLAC grouped: {groups:?}"
    );
    assert!(groups.contains(&lossy), "re-tagged MP3 grouped: {groups:?}");
    assert_eq!(groups.len(), 2, "nothing else is grouped: {groups:?}");
    for loner in [&other, &other_mp3] {
        let id = id_of(loner);
        assert!(
            groups.iter().all(|g| !g.contains(&id)),
            "{} grouped",
            loner.display()
        );
    }
    // Freeing the FLAC/WAV duplicate frees its whole size; the re-tagged MP3
    // shares its audio chunks, so its group frees less than a whole file.
    let group_of = |ids: &Vec<String>| {
        dups["same_audio"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| {
                let mut got: Vec<String> = g["tracks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["id"].as_str().unwrap().to_string())
                    .collect();
                got.sort();
                &got == ids
            })
            .unwrap()
            .clone()
    };
    let lossless_group = group_of(&lossless);
    assert_eq!(
        lossless_group["tracks"][0]["id"].as_str(),
        Some(id_of(&wav).as_str()),
        "the larger file (the WAV) is the one to keep"
    );
    assert!(lossless_group["reclaimable_bytes"].as_u64().unwrap() > 0);
    // Analysis ran as part of `duplicates`: nothing is left pending.
    assert_eq!(v.json(["analyze"])["pending"].as_u64(), Some(0));
    let show = v.json(["show", &id_of(&flac)]);
    assert_eq!(show["analysis"].as_str(), Some("done"));
}
