"""The shipped reference catalog, checked against figures written out by hand from the sources."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from importlib import resources

import pytest

from thuocdo.catalog import Catalog, Platform, ResolvedProvince, load_catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


# --- provinces ----------------------------------------------------------------------------------

# Resolution 202/2025/QH15: the 23 merged units (new short name -> former units, by short name).
MERGERS = {
    "Tuyên Quang": {"Hà Giang", "Tuyên Quang"},
    "Lào Cai": {"Lào Cai", "Yên Bái"},
    "Thái Nguyên": {"Bắc Kạn", "Thái Nguyên"},
    "Phú Thọ": {"Vĩnh Phúc", "Phú Thọ", "Hòa Bình"},
    "Bắc Ninh": {"Bắc Giang", "Bắc Ninh"},
    "Hưng Yên": {"Thái Bình", "Hưng Yên"},
    "Hải Phòng": {"Hải Dương", "Hải Phòng"},
    "Ninh Bình": {"Hà Nam", "Nam Định", "Ninh Bình"},
    "Quảng Trị": {"Quảng Bình", "Quảng Trị"},
    "Đà Nẵng": {"Quảng Nam", "Đà Nẵng"},
    "Quảng Ngãi": {"Kon Tum", "Quảng Ngãi"},
    "Gia Lai": {"Gia Lai", "Bình Định"},
    "Khánh Hòa": {"Ninh Thuận", "Khánh Hòa"},
    "Lâm Đồng": {"Lâm Đồng", "Đắk Nông", "Bình Thuận"},
    "Đắk Lắk": {"Đắk Lắk", "Phú Yên"},
    "Hồ Chí Minh": {"Hồ Chí Minh", "Bình Dương", "Bà Rịa - Vũng Tàu"},
    "Đồng Nai": {"Đồng Nai", "Bình Phước"},
    "Tây Ninh": {"Tây Ninh", "Long An"},
    "Cần Thơ": {"Cần Thơ", "Sóc Trăng", "Hậu Giang"},
    "Vĩnh Long": {"Vĩnh Long", "Bến Tre", "Trà Vinh"},
    "Đồng Tháp": {"Đồng Tháp", "Tiền Giang"},
    "Cà Mau": {"Cà Mau", "Bạc Liêu"},
    "An Giang": {"An Giang", "Kiên Giang"},
}
UNCHANGED = {"Hà Nội", "Huế", "Lai Châu", "Điện Biên", "Sơn La", "Lạng Sơn", "Quảng Ninh",
             "Thanh Hóa", "Nghệ An", "Hà Tĩnh", "Cao Bằng"}


def test_unit_counts(catalog: Catalog) -> None:
    assert len(catalog.provinces_new) == 34
    assert len(catalog.provinces_old) == 63
    assert {p.level for p in catalog.provinces_new} == {"new"}
    assert {p.level for p in catalog.provinces_old} == {"old"}
    assert all(p.new_code == p.code for p in catalog.provinces_new)
    assert all(re.fullmatch(r"\d\d", p.code) for p in (*catalog.provinces_new, *catalog.provinces_old))


def test_every_old_unit_maps_to_a_new_one_and_back(catalog: Catalog) -> None:
    new_codes = {p.code for p in catalog.provinces_new}
    assert all(p.new_code in new_codes for p in catalog.provinces_old)
    assert {p.new_code for p in catalog.provinces_old} == new_codes


def test_mapping_follows_resolution_202(catalog: Catalog) -> None:
    new_name = {p.code: p.short_name for p in catalog.provinces_new}
    members: dict[str, set[str]] = {}
    for unit in catalog.provinces_old:
        members.setdefault(new_name[unit.new_code], set()).add(unit.short_name)
    unchanged = {name for name, old in members.items() if len(old) == 1}
    assert len(unchanged) == 11
    assert unchanged == UNCHANGED
    assert {n: m for n, m in members.items() if len(m) > 1} == MERGERS


def test_official_codes_and_names(catalog: Catalog) -> None:
    old = {p.code: p for p in catalog.provinces_old}
    new = {p.code: p for p in catalog.provinces_new}
    assert old["80"].short_name == "Long An" and new["80"].short_name == "Tây Ninh"
    assert old["72"].short_name == "Tây Ninh" and old["72"].new_code == "80"
    assert old["10"].short_name == "Lào Cai" and old["10"].new_code == "15"
    assert new["79"].name == "Thành phố Hồ Chí Minh" and new["01"].name == "Thành phố Hà Nội"
    assert old["46"].short_name == "Huế" and new["46"].short_name == "Huế"


def test_code_reuse_is_read_by_date(catalog: Catalog) -> None:
    before, after = dt.date(2024, 5, 1), dt.date(2025, 9, 1)
    assert catalog.resolve_province("80", on=before) == ResolvedProvince("80", "80")
    assert catalog.resolve_province("80", on=after) == ResolvedProvince("80", None)
    assert catalog.resolve_province("80") == ResolvedProvince("80", None)
    assert catalog.resolve_province("80", on=dt.datetime(2025, 6, 30, 23, 59)) == ResolvedProvince("80", "80")
    assert catalog.resolve_province("80", on=dt.date(2025, 7, 1)) == ResolvedProvince("80", None)
    # Never through code equality: old 10 (Lào Cai) is in new 15; there is no new 10.
    assert catalog.resolve_province("10", on=before) == ResolvedProvince("15", "10")
    assert catalog.resolve_province("10", on=after) is None
    assert catalog.resolve_province("45", on=before) == ResolvedProvince("44", "45")
    assert catalog.resolve_province("44", on=before) == ResolvedProvince("44", "44")
    assert catalog.resolve_province("44", on=after) == ResolvedProvince("44", None)


def test_codes_in_any_spelling(catalog: Catalog) -> None:
    assert catalog.resolve_province("1") == ResolvedProvince("01", "01")  # Hà Nội is unchanged
    assert catalog.resolve_province(" 01 ") == ResolvedProvince("01", "01")
    assert catalog.resolve_province("1", on=dt.date(2021, 1, 1)) == ResolvedProvince("01", "01")
    assert catalog.resolve_province("99") is None
    assert catalog.resolve_province("03", on=dt.date(2021, 1, 1)) is None


@pytest.mark.parametrize("value", ["Long An", "long an", "LONG AN", "Tỉnh Long An", "tinh long an"])
def test_long_an_goes_to_tay_ninh(catalog: Catalog, value: str) -> None:
    assert catalog.resolve_province(value) == ResolvedProvince("80", "80")


@pytest.mark.parametrize(("value", "expected"), [
    ("Thừa Thiên Huế", ResolvedProvince("46", "46")),
    ("thua thien hue", ResolvedProvince("46", "46")),
    ("Thừa Thiên - Huế", ResolvedProvince("46", "46")),
    ("Thành phố Huế", ResolvedProvince("46", "46")),
    ("TP. Hồ Chí Minh", ResolvedProvince("79", "79")),
    ("Ho Chi Minh", ResolvedProvince("79", "79")),
    ("TP.HCM", ResolvedProvince("79", "79")),
    ("Thành phố Hồ Chí Minh", ResolvedProvince("79", "79")),
    ("Bà Rịa - Vũng Tàu", ResolvedProvince("79", "77")),
    ("ba ria vung tau", ResolvedProvince("79", "77")),
    ("Tỉnh Bình Dương", ResolvedProvince("79", "74")),
    ("Đắk Lắk", ResolvedProvince("66", "66")),
    ("dak lak", ResolvedProvince("66", "66")),
    ("Phú Yên", ResolvedProvince("66", "54")),
    ("Hà Nội", ResolvedProvince("01", "01")),
    ("TP Hà Nội", ResolvedProvince("01", "01")),
    ("Tây Ninh", ResolvedProvince("80", "72")),  # a new name that is also a former unit's name
    ("Hoà Bình", ResolvedProvince("25", "17")),  # old-style tone placement
])
def test_names_with_or_without_diacritics(catalog: Catalog, value: str,
                                          expected: ResolvedProvince) -> None:
    assert catalog.resolve_province(value) == expected
    assert catalog.resolve_province(value, on=dt.date(2022, 1, 1)) == expected


@pytest.mark.parametrize("value", ["", "  ", "Atlantis", "Long Ann", "Tỉnh", "Thành phố", "VN", "Hà"])
def test_unknown_provinces(catalog: Catalog, value: str) -> None:
    assert catalog.resolve_province(value) is None


def test_every_unit_resolves_by_its_own_names(catalog: Catalog) -> None:
    for unit in (*catalog.provinces_old, *catalog.provinces_new):
        for text in (unit.name, unit.short_name, unit.name.upper(), unit.short_name.lower()):
            resolved = catalog.resolve_province(text)
            assert resolved is not None and resolved.new_code == unit.new_code, text


# --- platforms ----------------------------------------------------------------------------------

# Every platform the seeds name, spelt as in the seeds, and the id it must resolve to.
SEED_PLATFORMS = {
    "Zalo": "zalo", "Messenger": "messenger", "Facebook": "facebook", "Mocha": "mocha",
    "Viber": "viber", "Telegram": "telegram", "Be": "be", "Grab": "grab", "An vui": "an-vui",
    "Vé xe rẻ": "vexere", "Viettel Post": "viettel-post", "ViettelPost": "viettel-post",
    "My Vietnam Post": "my-vietnam-post", "Postmart": "postmart", "Vỏ Sò": "vo-so",
    "VTV GO": "vtv-go", "VnExpress": "vnexpress", "Vietnamnet": "vietnamnet", "Nhân dân": "nhan-dan",
    "Sổ sức khỏe điện tử": "so-suc-khoe-dien-tu",
    "Sổ Sức khỏe điện tử": "so-suc-khoe-dien-tu",
    "VOV Bác sĩ 24": "vov-bac-si-24", "VnTrip": "vntrip", "MyTour": "mytour", "VNEdu": "vnedu",
    "K12Online": "k12online", "MobiEdu": "mobiedu", "Azota": "azota", "Học mãi": "hoc-mai",
    "Ôn luyện": "on-luyen", "Vietcombank": "vietcombank", "MB": "mb-bank", "BIDV": "bidv",
    "Viettin Bank": "vietinbank", "AgriBank": "agribank", "Mobile Money": "mobile-money",
    "Hue-S": "hue-s", "TikTok": "tiktok", "Tiktok": "tiktok", "Zing MP3": "zing-mp3",
    "Ví MoMo": "momo", "Báo mới": "bao-moi", "VnEID": "vneid", "MB Bank": "mb-bank",
    "My Viettel": "my-viettel", "vietnam.vn": "vietnam-vn", "NDXP": "ndxp",
    "Nền tảng tích hợp, chia sẻ dữ liệu quốc gia": "ndxp",
    # named in the brief alongside the seeds
    "PC-Covid": "pc-covid", "Viettel Money": "viettel-money", "VNPT Money": "vnpt-money",
    "MobiFone Money": "mobifone-money",
}


@pytest.mark.parametrize(("value", "platform_id"), sorted(SEED_PLATFORMS.items()))
def test_seed_platforms_resolve(catalog: Catalog, value: str, platform_id: str) -> None:
    assert catalog.resolve_platform(value) == platform_id


@pytest.mark.parametrize(("value", "platform_id"), [
    ("com.zing.zalo", "zalo"), ("VnExpress.net", "vnexpress"), ("  zalo ", "zalo"),
    ("ZALO", "zalo"), ("https://www.vnexpress.net/", "vnexpress"), ("com.facebook.orca", "messenger"),
    ("so suc khoe dien tu", "so-suc-khoe-dien-tu"), ("vo so", "vo-so"), ("Shopee Food", "shopee-food"),
    (unicodedata.normalize("NFD", "Vỏ Sò"), "vo-so"),
])
def test_resolve_platform_spellings(catalog: Catalog, value: str, platform_id: str) -> None:
    assert catalog.resolve_platform(value) == platform_id


@pytest.mark.parametrize("value", ["", "   ", "no-such-app", "com.example.unknown"])
def test_unknown_platforms(catalog: Catalog, value: str) -> None:
    assert catalog.resolve_platform(value) is None


def _names(platform: Platform) -> list[str]:
    return [platform.id, platform.name, *platform.aliases]


def test_platform_ids_names_aliases_unique(catalog: Catalog) -> None:
    owner: dict[str, str] = {}
    for platform in catalog.platforms:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", platform.id), platform.id
        for name in {n.casefold() for n in _names(platform)}:
            assert owner.setdefault(name, platform.id) == platform.id, name
    for platform in catalog.platforms:  # every name resolves back to its own platform
        for name in _names(platform):
            assert catalog.resolve_platform(name) == platform.id, name


def test_platform_fields(catalog: Catalog) -> None:
    categories = {c.id for c in catalog.categories}
    assert 80 <= len(catalog.platforms) <= 120
    for platform in catalog.platforms:
        assert platform.category in categories
        assert platform.origin in {"vn", "foreign"}
        assert platform.kind in {"app", "web", "app+web"}
        assert platform.name and platform.owner
    assert catalog.platform("zalo").origin == "vn" and catalog.platform("messenger").origin == "foreign"
    with pytest.raises(KeyError):
        catalog.platform("nope")


# the first day each new name was in use, from the press of the day (platform_names.csv cites it):
# X's name and logo went live on 24/07/2023 (announced on 23/07/2023); Google began rolling Google Wallet out,
# renaming the Google Pay app, on 18/07/2022
RENAMES = (("x", dt.date(2023, 7, 24), "Twitter", "X (Twitter)"),
           ("google-wallet", dt.date(2022, 7, 18), "Google Pay", "Google Wallet"))


@pytest.mark.parametrize(("platform_id", "first_day", "before", "after"), RENAMES)
def test_platform_names_change_on_the_day_the_new_name_went_live(catalog: Catalog, platform_id: str,
                                                                   first_day: dt.date, before: str,
                                                                   after: str) -> None:
    day_before = first_day - dt.timedelta(days=1)
    assert catalog.platform_name(platform_id, day_before) == before
    assert catalog.platform_name(platform_id, first_day) == after
    assert catalog.platform_name(platform_id, dt.date(2022, 3, 31)) == before  # the demo's quarter I/2022
    assert catalog.platform_name(platform_id, dt.date(2025, 12, 31)) == after == catalog.platform(platform_id).name


def test_categories(catalog: Catalog) -> None:
    by_id = {c.id: c for c in catalog.categories}
    programme = {"communication", "mobility", "ecommerce", "news", "education", "health", "travel",
                 "cybersecurity", "payment"}
    assert set(by_id) == programme | {"delivery", "government", "social", "entertainment"}
    assert {c.id for c in catalog.categories if c.programme_2022} == programme
    assert by_id["communication"].name_vi == "liên lạc"
    assert catalog.category("payment").name_vi == "thanh toán số"
    with pytest.raises(KeyError):
        catalog.category("nope")


def test_every_category_has_vietnamese_and_foreign_platforms(catalog: Catalog) -> None:
    origins: dict[str, set[str]] = {c.id: set() for c in catalog.categories}
    for platform in catalog.platforms:
        origins[platform.category].add(platform.origin)
    assert all("vn" in found for found in origins.values()), origins
    assert {c for c, found in origins.items() if "foreign" not in found} == {"government"}


def test_operator_kpis(catalog: Catalog) -> None:
    kpis = {k.id: k for k in catalog.kpis}
    platform_ids = {p.id for p in catalog.platforms}
    assert {"web_rank", "downloads_total", "visits"} <= set(kpis)
    assert all(k.platform is None or k.platform in platform_ids for k in kpis.values())
    assert all(k.unit and k.label_vi for k in kpis.values())
    mobile_money = {k.id for k in kpis.values() if k.platform == "mobile-money"}
    assert len(mobile_money) >= 7 and kpis["mobile_money_transaction_value"].unit == "VND"
    assert {k.id for k in kpis.values() if k.platform == "hue-s"} >= {
        "hue_s_feedback_handled", "hue_s_satisfied_share", "hue_s_processing_time"}


def test_rows_for_a_database(catalog: Catalog) -> None:
    rows = catalog.platform_rows()
    assert len(rows) == len(catalog.platforms)
    assert set(rows[0]) == {"id", "name", "category", "origin", "owner", "kind"}
    provinces = catalog.province_rows()
    assert len(provinces) == 97
    assert set(provinces[0]) == {"level", "code", "name", "short_name", "new_code"}


# --- populations --------------------------------------------------------------------------------

HUE_SMARTPHONE_USERS_2022 = 610512 / 1.013  # seed report: Hue-S MAU = 101.3 % of smartphone users


def test_national_totals_add_up(catalog: Catalog) -> None:
    rows = catalog.population_rows()
    for year in range(2020, 2026):
        for column in ("smartphone_users", "population"):
            by_level: dict[str, float] = {}
            for row in rows:
                if row["year"] == year:
                    value = row[column]
                    assert isinstance(value, int)
                    by_level[str(row["level"])] = by_level.get(str(row["level"]), 0) + value
            assert by_level["old"] == by_level["new"] == by_level["nation"], (year, column)
    nation = catalog.smartphone_users(2022)
    assert nation is not None
    new_sum = 0.0
    for unit in catalog.provinces_new:
        value = catalog.smartphone_users(2022, unit.code)
        assert value is not None
        new_sum += value
    assert new_sum == nation


def test_new_units_are_sums_of_their_former_units(catalog: Catalog) -> None:
    old_values = {(r["code"], r["year"]): r["population"]
                  for r in catalog.population_rows() if r["level"] == "old"}
    for unit in catalog.provinces_new:
        members = [p.code for p in catalog.provinces_old if p.new_code == unit.code]
        for year in range(2020, 2026):
            expected = sum(int(str(old_values[(code, year)])) for code in members)
            assert catalog.population(year, unit.code) == expected


def test_hue_calibrated_to_the_seed(catalog: Catalog) -> None:
    value = catalog.smartphone_users(2022, "46")
    assert value is not None
    assert abs(value - HUE_SMARTPHONE_USERS_2022) / HUE_SMARTPHONE_USERS_2022 < 0.005


def test_population_figures(catalog: Catalog) -> None:
    old_2020 = {r["code"]: r["population"] for r in catalog.population_rows()
                if r["level"] == "old" and r["year"] == 2020}
    # GSO statistical yearbook 2020, preliminary average population (thousand persons).
    assert old_2020["01"] == 8_246_600 and old_2020["79"] == 9_227_600 and old_2020["46"] == 1_133_700
    nation_2020 = catalog.population(2020)
    nation_2022 = catalog.population(2022)
    assert nation_2020 is not None and abs(nation_2020 - 97_582_700) < 1_000
    assert nation_2022 is not None and abs(nation_2022 - 99_460_000) < 1_000
    assert catalog.population(2022, "1") == catalog.population(2022, "01")
    assert catalog.population(2019) is None and catalog.smartphone_users(2026, "01") is None
    assert catalog.population(2022, "10") is None  # 10 is a former code only


def test_smartphone_users_are_plausible(catalog: Catalog) -> None:
    for row in catalog.population_rows():
        users, people = row["smartphone_users"], row["population"]
        assert isinstance(users, int) and isinstance(people, int)
        assert 0.3 * people < users < people, row
    nation_2022 = catalog.smartphone_users(2022)
    assert nation_2022 is not None and 50e6 < nation_2022 < 70e6
    years = [catalog.smartphone_users(y) for y in range(2020, 2026)]
    assert all(a is not None and b is not None and a < b for a, b in itertools.pairwise(years))


# --- files --------------------------------------------------------------------------------------

def test_data_files_are_nfc_utf8() -> None:
    data = resources.files("thuocdo.catalog") / "data"
    names = sorted(p.name for p in data.iterdir() if p.name.endswith((".csv", ".md")))
    assert {"categories.csv", "platforms.csv", "operator_kpis.csv", "provinces_new.csv",
            "provinces_old.csv", "populations.csv", "SOURCES.md"} <= set(names)
    for name in names:
        text = (data / name).read_bytes().decode("utf-8")
        assert unicodedata.normalize("NFC", text) == text, name


def test_load_catalog_is_cached() -> None:
    assert load_catalog() is load_catalog()
