//! How times, days and places read on the pages, in Chinese: `5月28日 星期二`, `09:00–11:30`,
//! `时间调整：09:00 → 10:30`, the district of an address, and links that open a position in
//! the map apps people in China use.

use chrono::{DateTime, Datelike as _, FixedOffset, NaiveDate, Utc};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::geo::Position;
use super::zone::Zone;

const WEEKDAYS: [&str; 7] = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"];

/// `5月28日 星期二`.
pub fn day_label(date: NaiveDate) -> String {
    format!(
        "{}月{}日 {}",
        date.month(),
        date.day(),
        WEEKDAYS[date.weekday().num_days_from_monday() as usize]
    )
}

/// `2019年5月28日`.
pub fn full_date(date: NaiveDate) -> String {
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

/// `09:00`.
pub fn clock(at: DateTime<FixedOffset>) -> String {
    at.format("%H:%M").to_string()
}

/// When a session takes place, as shown under its day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// From a time to a time, in a zone.
    Timed {
        /// Start.
        start: DateTime<Utc>,
        /// End.
        end: DateTime<Utc>,
        /// Where the times are read.
        zone: Zone,
    },
    /// Whole days, the last inclusive.
    AllDay {
        /// First day.
        first: NaiveDate,
        /// Last day.
        last: NaiveDate,
    },
}

impl Span {
    /// The local day it starts on.
    pub fn first_day(self) -> NaiveDate {
        match self {
            Self::Timed { start, zone, .. } => zone.local(start).date_naive(),
            Self::AllDay { first, .. } => first,
        }
    }

    /// `09:00–11:30`; `09:00–次日 01:00` across midnight; `全天` for a day; `5月28日–5月30日
    /// 全天` for several.
    pub fn hours(self) -> String {
        match self {
            Self::Timed { start, end, zone } => {
                let (start, end) = (zone.local(start), zone.local(end));
                let days = (end.date_naive() - start.date_naive()).num_days();
                match days {
                    0 => format!("{}–{}", clock(start), clock(end)),
                    1 => format!("{}–次日 {}", clock(start), clock(end)),
                    _ => format!("{}–{}月{}日 {}", clock(start), end.month(), end.day(), clock(end)),
                }
            }
            Self::AllDay { first, last } if first == last => "全天".to_owned(),
            Self::AllDay { first, last } => format!(
                "{}月{}日–{}月{}日 全天",
                first.month(),
                first.day(),
                last.month(),
                last.day()
            ),
        }
    }

    /// The day and hours together: `5月28日 星期二 09:00–11:30`.
    pub fn full(self) -> String {
        format!("{} {}", day_label(self.first_day()), self.hours())
    }
}

/// `时间调整：09:00 → 10:30` for a session that moved within its day; with the days when it
/// moved to another (`时间调整：5月28日 09:00 → 5月29日 10:30`).
pub fn moved_note(was: Span, now: Span) -> Option<String> {
    if was == now {
        return None;
    }
    let text = match (was, now) {
        (Span::Timed { start: a, zone, .. }, Span::Timed { start: b, .. }) if a != b => {
            let (a, b) = (zone.local(a), zone.local(b));
            if a.date_naive() == b.date_naive() {
                format!("{} → {}", clock(a), clock(b))
            } else {
                format!(
                    "{}月{}日 {} → {}月{}日 {}",
                    a.month(),
                    a.day(),
                    clock(a),
                    b.month(),
                    b.day(),
                    clock(b)
                )
            }
        }
        (Span::Timed { .. }, Span::Timed { .. }) => format!("结束时间 {} → {}", was.hours(), now.hours()),
        _ => format!("{} → {}", was.full(), now.full()),
    };
    Some(format!("时间调整：{text}"))
}

/// The district (区, 县, 开发区 …) of a Chinese address: `江苏省连云港市海州区朝阳东路` →
/// `海州区`. `None` when the address names none after its province and city.
pub fn district(address: &str) -> Option<&str> {
    let mut rest = address.trim();
    for level in ["省", "自治区"] {
        if let Some(at) = rest.find(level)
            && rest[..at].chars().count() <= 8
        {
            rest = &rest[at + level.len()..];
            break;
        }
    }
    if let Some(at) = rest.find('市')
        && rest[..at].chars().count() <= 8
    {
        rest = &rest[at + '市'.len_utf8()..];
    }
    // The shortest prefix that ends a district: 县 and 旗 end one at once; 区 ends one
    // unless more follows that still belongs to it (开发区 after 经济技术).
    let end = rest
        .char_indices()
        .find(|&(_, c)| matches!(c, '区' | '县' | '旗'))
        .map(|(at, c)| at + c.len_utf8())?;
    let name = &rest[..end];
    (name.chars().count() >= 2).then_some(name)
}

/// A link that opens a map app at a venue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapLink {
    /// The app's name, as people call it.
    pub app: &'static str,
    /// The address to open.
    pub href: String,
}

/// Links that open `position` (WGS 84, as venues store it) in 高德地图, 百度地图, 腾讯地图,
/// Apple 地图 and any app that handles `geo:`. Each says the coordinates are WGS 84 where the
/// app lets it, so the pin lands on the venue rather than a few hundred metres off.
pub fn map_links(position: Position, name: &str) -> Vec<MapLink> {
    let (lat, lng) = (position.latitude, position.longitude);
    let label = utf8_percent_encode(name, NON_ALPHANUMERIC).to_string();
    vec![
        MapLink {
            app: "高德地图",
            href: format!(
                "https://uri.amap.com/marker?position={lng},{lat}&name={label}&coordinate=wgs84&callnative=1"
            ),
        },
        MapLink {
            app: "百度地图",
            href: format!(
                "https://api.map.baidu.com/marker?location={lat},{lng}&title={label}&content={label}&coord_type=wgs84&output=html&src=sciday"
            ),
        },
        MapLink {
            app: "腾讯地图",
            href: format!(
                "https://apis.map.qq.com/uri/v1/marker?marker=coord:{lat},{lng};coordtype:1;title:{label}&referer=sciday"
            ),
        },
        MapLink {
            app: "Apple 地图",
            href: format!("https://maps.apple.com/?ll={lat},{lng}&q={label}"),
        },
        MapLink {
            app: "其他地图应用",
            href: format!("geo:{lat},{lng}?q={lat},{lng}({label})"),
        },
    ]
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn shanghai() -> Zone {
        Zone::from_stored("Asia/Shanghai")
    }

    /// `h:m` on 28 May 2019 in Shanghai (UTC+8); hours past 23 run into the next days.
    fn at(h: i64, m: i64) -> DateTime<Utc> {
        let midnight = Utc.with_ymd_and_hms(2019, 5, 27, 16, 0, 0).single().unwrap();
        midnight + chrono::TimeDelta::hours(h) + chrono::TimeDelta::minutes(m)
    }

    #[test]
    fn days_read_with_their_weekday() {
        assert_eq!(
            day_label(NaiveDate::from_ymd_opt(2019, 5, 28).unwrap()),
            "5月28日 星期二"
        );
        assert_eq!(day_label(NaiveDate::from_ymd_opt(2019, 6, 2).unwrap()), "6月2日 星期日");
        assert_eq!(
            full_date(NaiveDate::from_ymd_opt(2019, 5, 30).unwrap()),
            "2019年5月30日"
        );
    }

    #[test]
    fn hours_read_in_the_sessions_zone() {
        let span = Span::Timed {
            start: at(9, 0),
            end: at(11, 30),
            zone: shanghai(),
        };
        assert_eq!(span.hours(), "09:00–11:30");
        assert_eq!(span.full(), "5月28日 星期二 09:00–11:30");
        let late = Span::Timed {
            start: at(22, 0),
            end: at(25, 0),
            zone: shanghai(),
        };
        assert_eq!(late.hours(), "22:00–次日 01:00");
        let day = NaiveDate::from_ymd_opt(2019, 5, 28).unwrap();
        assert_eq!(Span::AllDay { first: day, last: day }.hours(), "全天");
        let week = Span::AllDay {
            first: day,
            last: NaiveDate::from_ymd_opt(2019, 6, 3).unwrap(),
        };
        assert_eq!(week.hours(), "5月28日–6月3日 全天");
    }

    #[test]
    fn a_moved_session_shows_where_it_was() {
        let zone = shanghai();
        let was = Span::Timed {
            start: at(9, 0),
            end: at(11, 0),
            zone,
        };
        let now = Span::Timed {
            start: at(10, 30),
            end: at(12, 30),
            zone,
        };
        assert_eq!(moved_note(was, now).as_deref(), Some("时间调整：09:00 → 10:30"));
        assert_eq!(moved_note(was, was), None);
        let next_day = Span::Timed {
            start: at(9 + 24, 0),
            end: at(11 + 24, 0),
            zone,
        };
        assert_eq!(
            moved_note(was, next_day).as_deref(),
            Some("时间调整：5月28日 09:00 → 5月29日 09:00")
        );
        let longer = Span::Timed {
            start: at(9, 0),
            end: at(12, 0),
            zone,
        };
        assert_eq!(
            moved_note(was, longer).as_deref(),
            Some("时间调整：结束时间 09:00–11:00 → 09:00–12:00")
        );
    }

    #[test]
    fn districts_come_from_addresses() {
        assert_eq!(district("江苏省连云港市海州区朝阳东路"), Some("海州区"));
        assert_eq!(district("江苏省连云港市东海县牛山街道"), Some("东海县"));
        assert_eq!(district("北京市海淀区复兴路3号"), Some("海淀区"));
        assert_eq!(
            district("江苏省连云港市连云港经济技术开发区"),
            Some("连云港经济技术开发区")
        );
        assert_eq!(district("内蒙古自治区呼和浩特市新城区"), Some("新城区"));
        assert_eq!(district("江苏省连云港市"), None);
        assert_eq!(district(""), None);
    }

    #[test]
    fn map_links_open_the_venue_in_wgs84() {
        let links = map_links(
            Position {
                latitude: 34.6,
                longitude: 119.2,
            },
            "市科技馆",
        );
        let amap = &links[0];
        assert_eq!(amap.app, "高德地图");
        assert!(amap.href.contains("position=119.2,34.6"));
        assert!(amap.href.contains("coordinate=wgs84"));
        assert!(
            amap.href.contains("%E5%B8%82"),
            "names are percent-encoded: {}",
            amap.href
        );
        assert!(links.iter().any(|l| l.href.starts_with("geo:34.6,119.2")));
        assert!(links[1].href.contains("coord_type=wgs84"));
    }
}
