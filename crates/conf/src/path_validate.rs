//! MediaMTX's validation rules of a path.

use crate::auth::{AuthInternalUser, AuthInternalUserPermission, any_network};
use crate::deprecated::Warnings;
use crate::path::PathConf;
use crate::source::{check_redirect, validate_url};
use crate::validate::invalid;
use crate::{AuthAction, ConfError};
use std::time::Duration;

fn one_of(v: &str, allowed: &[&str], key: &str) -> Result<(), ConfError> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        Err(invalid(format!("invalid '{key}' value")))
    }
}

fn check_srt_passphrase(p: &str) -> Result<(), String> {
    if p.len() < 10 || p.len() > 79 {
        Err("must be between 10 and 79 characters".into())
    } else {
        Ok(())
    }
}

impl PathConf {
    pub(crate) fn validate(
        &mut self,
        playback: bool,
        others: &[(String, u32, bool, bool)],
        w: &mut Warnings,
    ) -> Result<(), ConfError> {
        let is_regex = self.regex.is_some();
        if !self.srt_publish_passphrase.is_empty() && self.source != "publisher" {
            return Err(invalid(
                "'srtPublishPassphase' can only be used when source is 'publisher'",
            ));
        }
        if self.source != "redirect" && !self.source_redirect.is_empty() {
            return Err(invalid(
                "'sourceRedirect' is useless when source is not 'redirect'",
            ));
        }
        self.validate_source(others, w)?;
        // MediaMTX reads both ends without checking (a one-element list panics there).
        match self.rtsp_udp_source_port_range.as_slice() {
            [first, last] if first <= last && *last <= 65_535 => {}
            other => {
                return Err(invalid(format!(
                    "'rtspUDPSourcePortRange' must be two ports, the first not above the \
                     second, got {other:?}"
                )));
            }
        }
        if self.source_on_demand {
            if self.source == "publisher" {
                return Err(invalid(
                    "'sourceOnDemand' is useless when source is 'publisher'",
                ));
            }
        } else if self.source != "publisher" && self.source != "redirect" && is_regex {
            return Err(invalid(
                "a path with a regular expression (or path 'all_others') and a static source \
                 must have 'sourceOnDemand' set to true",
            ));
        }
        if !self.srt_read_passphrase.is_empty() {
            check_srt_passphrase(&self.srt_read_passphrase)
                .map_err(|e| invalid(format!("invalid 'readRTPassphrase': {e}")))?;
        }
        for (i, f) in self.forward.iter().enumerate() {
            f.validate()
                .map_err(|e| invalid(format!("invalid 'forward': entry {i}: {e}")))?;
        }
        if let Some(fallback) = &self.fallback {
            w.push("the 'fallback' feature is deprecated, use 'alwaysAvailable' instead".into());
            check_redirect(fallback).map_err(invalid)?;
        }
        self.validate_always_available(is_regex)?;
        self.validate_record(playback, w)?;
        if !self.run_on_init.is_empty() && is_regex {
            return Err(invalid(
                "a path with a regular expression (or path 'all_others') does not support \
                 option 'runOnInit'; use another path",
            ));
        }
        self.convert_deprecated_hooks(w);
        if (!self.run_on_demand.is_empty() || !self.run_on_un_demand.is_empty())
            && self.source != "publisher"
        {
            return Err(invalid(
                "'runOnDemand' and 'runOnUnDemand' can be used only when source is 'publisher'",
            ));
        }
        Ok(())
    }

    fn validate_source(
        &mut self,
        others: &[(String, u32, bool, bool)],
        w: &mut Warnings,
    ) -> Result<(), ConfError> {
        let src = self.source.clone();
        let has = |p: &[&str]| p.iter().any(|p| src.starts_with(p));
        let url = |s: &str| validate_url(s).map_err(invalid);
        let with_port = |s: &str| {
            let u = validate_url(s).map_err(invalid)?;
            if u.has_port() {
                Ok(())
            } else {
                Err(invalid(format!("'{s}' is missing the port")))
            }
        };
        if src == "publisher" {
            self.convert_deprecated_publisher(w);
            if !self.srt_publish_passphrase.is_empty() {
                check_srt_passphrase(&self.srt_publish_passphrase)
                    .map_err(|e| invalid(format!("invalid 'srtPublishPassphrase': {e}")))?;
            }
        } else if has(&[
            "rtsp://",
            "rtsps://",
            "rtsp+http://",
            "rtsps+http://",
            "rtsp+ws://",
            "rtsps+ws://",
        ]) {
            url(&src)?;
            self.convert_deprecated_rtsp_source(w);
        } else if has(&[
            "rtmp://", "rtmps://", "http://", "https://", "srt://", "moqt://", "whep://",
            "wheps://",
        ]) {
            url(&src)?;
        } else if has(&["udp://", "udp+mpegts://"]) {
            with_port(&src)?;
        } else if has(&["unix+mpegts://"]) {
        } else if has(&["udp+rtp://"]) {
            with_port(&src)?;
            if self.rtp_sdp.is_empty() {
                return Err(invalid("`rtpSDP` was not provided"));
            }
        } else if has(&["unix+rtp://"]) {
            w.push("source 'unix+rtp' is deprecated due to intrinsic instability, use 'udp+rtp' instead".into());
            if self.rtp_sdp.is_empty() {
                return Err(invalid("`rtpSDP` was not provided"));
            }
        } else if src == "redirect" {
            if self.source_redirect.is_empty() {
                return Err(invalid("source redirect must be filled"));
            }
            check_redirect(&self.source_redirect).map_err(invalid)?;
        } else if src == "rpiCamera" {
            self.validate_rpi_camera(others, w)?;
        } else {
            return Err(invalid(format!("invalid source: '{src}'")));
        }
        Ok(())
    }

    fn validate_rpi_camera(
        &mut self,
        others: &[(String, u32, bool, bool)],
        w: &mut Warnings,
    ) -> Result<(), ConfError> {
        if self.rpi_camera_width == 0 {
            return Err(invalid("invalid 'rpiCameraWidth' value"));
        }
        if self.rpi_camera_height == 0 {
            return Err(invalid("invalid 'rpiCameraHeight' value"));
        }
        if self.rpi_camera_codec == "mjpeg"
            || (self.rpi_camera_secondary && self.rpi_camera_codec == "auto")
        {
            if self.rpi_camera_width >= 2048 || !self.rpi_camera_width.is_multiple_of(8) {
                return Err(invalid(
                    "'rpiCameraWidth' must be a multiple of 8 and less than 2048 when using MJPEG",
                ));
            }
            if self.rpi_camera_height >= 2048 || !self.rpi_camera_height.is_multiple_of(8) {
                return Err(invalid(
                    "'rpiCameraHeight' must be a multiple of 8 and less than 2048 when using MJPEG",
                ));
            }
        }
        one_of(
            &self.rpi_camera_exposure,
            &["normal", "short", "long", "custom"],
            "rpiCameraExposure",
        )?;
        one_of(
            &self.rpi_camera_awb,
            &[
                "auto",
                "incandescent",
                "tungsten",
                "fluorescent",
                "indoor",
                "daylight",
                "cloudy",
                "custom",
            ],
            "rpiCameraAWB",
        )?;
        if self.rpi_camera_awb_gains.len() != 2 {
            return Err(invalid("invalid 'rpiCameraAWBGains' value"));
        }
        one_of(
            &self.rpi_camera_denoise,
            &["off", "cdn_off", "cdn_fast", "cdn_hq"],
            "rpiCameraDenoise",
        )?;
        one_of(
            &self.rpi_camera_metering,
            &["centre", "spot", "matrix", "custom"],
            "rpiCameraMetering",
        )?;
        one_of(
            &self.rpi_camera_af_mode,
            &["auto", "manual", "continuous"],
            "rpiCameraAfMode",
        )?;
        one_of(
            &self.rpi_camera_af_range,
            &["normal", "macro", "full"],
            "rpiCameraAfRange",
        )?;
        one_of(
            &self.rpi_camera_af_speed,
            &["normal", "fast"],
            "rpiCameraAfSpeed",
        )?;
        let profiles = ["baseline", "main", "high"];
        let levels = ["4.0", "4.1", "4.2"];
        if let Some(v) = &self.rpi_camera_profile {
            w.push("parameter 'rpiCameraProfile' is deprecated and has been replaced with 'rpiCameraHardwareH264Profile'".into());
            self.rpi_camera_hardware_h264_profile = Some(v.clone());
        }
        if let Some(v) = &self.rpi_camera_level {
            w.push("parameter 'rpiCameraLevel' is deprecated and has been replaced with 'rpiCameraHardwareH264Level'".into());
            self.rpi_camera_hardware_h264_level = Some(v.clone());
        }
        let legacy = [
            (
                &self.rpi_camera_hardware_h264_profile,
                "rpiCameraHardwareH264Profile",
                "rpiCameraH264Profile",
                &profiles,
            ),
            (
                &self.rpi_camera_hardware_h264_level,
                "rpiCameraHardwareH264Level",
                "rpiCameraH264Level",
                &levels,
            ),
            (
                &self.rpi_camera_software_h264_profile,
                "rpiCameraSoftwareH264Profile",
                "rpiCameraH264Profile",
                &profiles,
            ),
            (
                &self.rpi_camera_software_h264_level,
                "rpiCameraSoftwareH264Level",
                "rpiCameraH264Level",
                &levels,
            ),
        ];
        for (value, old, new, allowed) in legacy {
            if let Some(v) = value {
                w.push(format!(
                    "parameter '{old}' is deprecated and has been replaced with '{new}'"
                ));
                one_of(v, allowed.as_slice(), old)?;
            }
        }
        one_of(
            &self.rpi_camera_h264_profile,
            &["auto", "baseline", "main", "high"],
            "rpiCameraH264Profile",
        )?;
        one_of(&self.rpi_camera_h264_level, &levels, "rpiCameraH264Level")?;
        if let Some(v) = self.rpi_camera_jpeg_quality {
            w.push("parameter 'rpiCameraJPEGQuality' is deprecated and has been replaced with 'rpiCameraMJPEGQuality'".into());
            self.rpi_camera_mjpeg_quality = v;
        }
        if !["auto", "hardwareH264", "softwareH264", "mjpeg"]
            .contains(&self.rpi_camera_codec.as_str())
        {
            return Err(invalid(
                "supported codecs for a RPI Camera stream are auto, hardwareH264, softwareH264, mjpeg",
            ));
        }
        let same_cam =
            |o: &&(String, u32, bool, bool)| o.2 && o.1 == self.rpi_camera_cam_id && !o.3;
        if !self.rpi_camera_secondary {
            if let Some(o) = others.iter().find(same_cam) {
                return Err(invalid(format!(
                    "'rpiCamera' with same camera ID {} is used as source in two paths, '{}' and '{}'",
                    self.rpi_camera_cam_id, self.name, o.0
                )));
            }
        } else if !others.iter().any(|o| same_cam(&o)) {
            return Err(invalid(
                "cannot find a primary RPI Camera stream to associate with the secondary stream",
            ));
        }
        Ok(())
    }

    fn validate_always_available(&self, is_regex: bool) -> Result<(), ConfError> {
        if !self.always_available {
            return Ok(());
        }
        if is_regex {
            return Err(invalid(
                "'alwaysAvailable' cannot be used in a path with a regular expression (or path 'all_others')",
            ));
        }
        if self.source_on_demand {
            return Err(invalid(
                "'sourceOnDemand' is not compatible with 'alwaysAvailable'",
            ));
        }
        if !self.run_on_demand.is_empty() || !self.run_on_un_demand.is_empty() {
            return Err(invalid(
                "'runOnDemand' and 'runOnUnDemand' cannot be used with 'alwaysAvailable'",
            ));
        }
        if !self.always_available_file.is_empty() {
            if !self.always_available_tracks.is_empty() {
                return Err(invalid(
                    "'alwaysAvailableFile' and 'alwaysAvailableTracks' cannot be used together",
                ));
            }
            check_mp4_magic(&self.always_available_file)
                .map_err(|e| invalid(format!("invalid 'alwaysAvailableFile': {e}")))?;
        } else if self.always_available_tracks.is_empty() {
            return Err(invalid(
                "'alwaysAvailableTracks' must contain at least one track",
            ));
        }
        for t in &self.always_available_tracks {
            t.validate().map_err(invalid)?;
        }
        if self.use_absolute_timestamp {
            return Err(invalid(
                "'useAbsoluteTimestamp' cannot be used with 'alwaysAvailable'",
            ));
        }
        Ok(())
    }

    fn validate_record(&self, playback: bool, w: &mut Warnings) -> Result<(), ConfError> {
        if self.playback.is_some() {
            w.push("parameter 'playback' is deprecated and has no effect".into());
        }
        let rp = &self.record_path;
        if !rp.contains("%path") {
            return Err(invalid("'recordPath' must contain %path"));
        }
        let has_all = ["%Y", "%m", "%d", "%H", "%M", "%S"]
            .iter()
            .all(|t| rp.contains(t));
        if !rp.contains("%s") && !has_all {
            return Err(invalid(
                "'recordPath' must contain either %s or %Y %m %d %H %M %S",
            ));
        }
        if playback && !rp.contains("%f") {
            return Err(invalid("'recordPath' must contain %f"));
        }
        if self.record_segment_duration > Duration::from_secs(86_400) {
            return Err(invalid("maximum segment duration is 1 day"));
        }
        if !self.record_delete_after.is_zero()
            && self.record_delete_after < self.record_segment_duration
        {
            return Err(invalid(
                "'recordDeleteAfter' cannot be lower than 'recordSegmentDuration'",
            ));
        }
        Ok(())
    }

    /// The two users MediaMTX derives from publishUser/.../readIPs.
    pub(crate) fn legacy_users(&self) -> Vec<AuthInternalUser> {
        let path = if self.name == "all" || self.name == "all_others" {
            "~^.*$".to_string()
        } else {
            self.name.clone()
        };
        let make = |user: &Option<String>, pass: &Option<String>, ips: &Option<Vec<_>>, action| {
            AuthInternalUser {
                user: user
                    .clone()
                    .filter(|u| !u.is_empty())
                    .unwrap_or_else(|| "any".into()),
                pass: pass.clone().unwrap_or_default(),
                ips: ips
                    .clone()
                    .filter(|i: &Vec<_>| !i.is_empty())
                    .unwrap_or_else(|| vec![any_network()]),
                permissions: vec![AuthInternalUserPermission::new(action, &path)],
            }
        };
        vec![
            make(
                &self.publish_user,
                &self.publish_pass,
                &self.publish_ips,
                AuthAction::Publish,
            ),
            make(
                &self.read_user,
                &self.read_pass,
                &self.read_ips,
                AuthAction::Read,
            ),
        ]
    }
}

fn check_mp4_magic(path: &str) -> Result<(), String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut head = [0u8; 8];
    f.read_exact(&mut head).map_err(|e| e.to_string())?;
    if &head[4..8] != b"ftyp" {
        return Err(format!(
            "file is not MP4, magic bytes are {:?}",
            &head[4..8]
        ));
    }
    Ok(())
}
