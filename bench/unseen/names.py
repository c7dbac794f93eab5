"""Name and household statistics the unseen registry is drawn from, with where each comes from.

Written for this generator alone, from public statistics and general knowledge, without
looking at the project's other generators (bench/synthetic.py, sync/synthetic_*.py), so that a
matcher tuned on those meets assumptions it has not seen.

Sources (shares rounded; **[U]** marks a figure that is general knowledge, not checked against
the cited text):

* Family names (Kinh): Lê Trung Hoa, *Họ và tên người Việt Nam* (NXB Khoa học Xã hội, 2005), as
  tabulated in the English Wikipedia article "Vietnamese name" (section "Family name"):
  Nguyễn 38.4 %, Trần 12.1 %, Lê 9.5 %, Phạm 7 %, Hoàng/Huỳnh 5.1 %, Phan 4.5 %, Vũ/Võ 3.9 %,
  Đặng 2.1 %, Bùi 2 %, Đỗ 1.4 %, Hồ 1.3 %, Ngô 1.3 %, Dương 1 %, Lý 0.5 %; the rest spread over
  less common names (the list below gives them the remaining ~10 %). Hoàng and Vũ are the
  northern spellings, Huỳnh and Võ the southern ones.
* Ethnic minorities: 2019 Population and Housing Census (General Statistics Office, *Kết quả
  toàn bộ Tổng điều tra dân số và nhà ở năm 2019*, 2020): 14.7 % of the population; Thái
  1.8 M, Mường 1.45 M, Mông (Hmong) 1.39 M, Dao 0.89 M. Mông names: clan name (Giàng, Mùa,
  Vàng, Thào, Sùng, Lầu, Hạng, Lý, Hầu, Chá…) then "A" for boys, "Thị" or "Mỷ" for girls, then
  a one-syllable given name; Thái names: Lò, Cầm, Quàng, Lường, Tòng, Hà, Lù, Vì… **[U]**.
* Middle and given names of children born 2010–2026: the fashion of the last fifteen years
  (Thị and Văn fading among young children; Gia, Bảo, Minh, Ngọc, Khánh, Phương rising) **[U]**,
  no birth-register statistics are public.
* Home names (tên gọi ở nhà): short, often foreign or food words (Bin, Bống, Tít, Su, Na, Cún,
  Mít, Bơ, Ken, Sóc, Xu, Gạo, Nấm, Kem, Bắp…) **[U]**.
"""

from __future__ import annotations

# (family name, weight in percent). Hoàng/Huỳnh and Vũ/Võ are split north/south by the caller.
KINH_FAMILY = (
    ("Nguyễn", 38.4), ("Trần", 12.1), ("Lê", 9.5), ("Phạm", 7.0), ("Hoàng", 5.1),
    ("Phan", 4.5), ("Vũ", 3.9), ("Đặng", 2.1), ("Bùi", 2.0), ("Đỗ", 1.4), ("Hồ", 1.3),
    ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5), ("Đinh", 0.9), ("Trương", 0.9), ("Đào", 0.8),
    ("Mai", 0.7), ("Cao", 0.6), ("Lương", 0.6), ("Tô", 0.4), ("Hà", 0.6), ("Lâm", 0.5),
    ("Trịnh", 0.5), ("Đoàn", 0.5), ("Tạ", 0.3), ("Kiều", 0.2), ("Chu", 0.3), ("Quách", 0.2),
    ("Thái", 0.3), ("Triệu", 0.3), ("Lưu", 0.4), ("Khúc", 0.1), ("La", 0.2), ("Văn", 0.2),
)
SOUTHERN_SPELLING = {"Hoàng": "Huỳnh", "Vũ": "Võ"}

BOY_MIDDLE = (("Văn", 18), ("Đức", 10), ("Minh", 12), ("Gia", 9), ("Bảo", 8), ("Quang", 6),
              ("Hoàng", 5), ("Anh", 4), ("Trung", 4), ("Hữu", 5), ("Thành", 4), ("Tuấn", 3),
              ("Đăng", 4), ("Nhật", 4), ("Tiến", 2), ("Công", 3), ("Xuân", 2), ("Khánh", 2))
GIRL_MIDDLE = (("Thị", 20), ("Ngọc", 12), ("Thu", 6), ("Bảo", 7), ("Khánh", 7), ("Minh", 6),
               ("Phương", 6), ("Thanh", 6), ("Gia", 5), ("Hà", 3), ("Hoài", 3), ("Thùy", 4),
               ("Mai", 3), ("Diệu", 3), ("Tuệ", 3), ("Hồng", 3), ("Kim", 3))
BOY_GIVEN = ("Minh", "Huy", "Khang", "Bảo", "Phúc", "Nam", "Long", "Khôi", "An", "Đăng",
             "Quân", "Duy", "Hưng", "Tuấn", "Thành", "Hiếu", "Trung", "Đạt", "Sơn", "Hải",
             "Kiên", "Vinh", "Tùng", "Lâm", "Nhật", "Phong", "Tín", "Thịnh", "Việt", "Hoàng",
             "Dũng", "Cường", "Khoa", "Lộc", "Nguyên", "Quang", "Tâm", "Thái", "Trí", "Vũ",
             "Hậu", "Toàn", "Kiệt", "Khải", "Đức", "Hòa", "Tú", "Thắng", "Hiển", "Quý")
GIRL_GIVEN = ("Anh", "Linh", "Ngọc", "Vy", "Hân", "Trang", "Nhi", "My", "Thảo", "Hà",
              "Hương", "Mai", "Lan", "Huyền", "Yến", "Như", "Ngân", "Châu", "Thư", "Trâm",
              "Quỳnh", "Diệp", "Uyên", "Tâm", "Chi", "Hoa", "Loan", "Giang", "Hằng", "Thủy",
              "Nhung", "Phương", "Trinh", "Tuyết", "Vân", "Oanh", "Hạnh", "Dung", "Ly", "An",
              "Khuê", "Hiền", "Nga", "Thúy", "Diễm", "Xuân", "Đào", "Hoài", "Hồng", "Mơ")
# Given names twins are often given as a pair (the second read with the first).
TWIN_PAIRS = (("Phúc", "Lộc"), ("An", "Khang"), ("Minh", "Mẫn"), ("Tâm", "Trí"),
              ("Đức", "Tài"), ("Sơn", "Hà"), ("Bảo", "Ngọc"), ("Kim", "Ngân"),
              ("Thiên", "Ân"), ("Gia", "Huy"), ("Song", "Thư"), ("Nhật", "Nguyệt"))

# Parents, born 1975–2005: older fashion.
MAN_MIDDLE = (("Văn", 45), ("Đức", 10), ("Minh", 8), ("Quang", 7), ("Hữu", 7), ("Xuân", 5),
              ("Thanh", 5), ("Công", 5), ("Ngọc", 4), ("Đình", 4))
WOMAN_MIDDLE = (("Thị", 60), ("Ngọc", 8), ("Thu", 7), ("Thanh", 7), ("Kim", 5), ("Hồng", 5),
                ("Minh", 4), ("Phương", 4))
MAN_GIVEN = ("Hùng", "Dũng", "Tuấn", "Hải", "Thắng", "Quyết", "Bình", "Cường", "Mạnh",
             "Sơn", "Long", "Hòa", "Tiến", "Toàn", "Trung", "Nam", "Hưng", "Thành", "Vinh",
             "Hiếu", "Đông", "Khánh", "Lợi", "Phong", "Quân", "Tài", "Thủy", "Tú", "Việt")
WOMAN_GIVEN = ("Hoa", "Lan", "Hương", "Huệ", "Hằng", "Nga", "Hạnh", "Liên", "Phượng", "Thủy",
               "Dung", "Loan", "Mai", "Thúy", "Yến", "Trang", "Hiền", "Nhung", "Oanh",
               "Tuyết", "Vân", "Xuân", "Hà", "Lý", "Tâm", "Thơm", "Hồng", "Quyên")

MONG_CLANS = (("Giàng", 20), ("Mùa", 14), ("Vàng", 14), ("Thào", 12), ("Sùng", 10),
              ("Lầu", 7), ("Hạng", 6), ("Lý", 6), ("Hầu", 4), ("Chá", 3), ("Tráng", 4))
MONG_BOY = ("Páo", "Sử", "Chư", "Dế", "Lử", "Tủa", "Sính", "Chớ", "Mua", "Vừ", "Pó",
            "Dùa", "Khua", "Lềnh", "Nủ", "Sình", "Thề", "Tráng", "Chu", "Phứ")
MONG_GIRL = ("Dở", "Mai", "Chá", "Sua", "Pà", "Dia", "Mỷ", "Súa", "Lan", "Say", "Chi",
             "Dê", "Ly", "Mỉ", "Pằng", "Vư", "Xúa", "Nhìa", "Plư", "Sông")
THAI_FAMILY = (("Lò", 25), ("Cầm", 12), ("Quàng", 12), ("Lường", 12), ("Tòng", 10),
               ("Hà", 8), ("Lù", 8), ("Vì", 7), ("Điêu", 6))

HOME_NAMES = ("Bin", "Bống", "Tít", "Su", "Na", "Cún", "Mít", "Bơ", "Ken", "Sóc", "Xu", "Gạo",
              "Nấm", "Kem", "Bắp", "Tôm", "Bi", "Mèo", "Cốm", "Bông", "Heo", "Sữa", "Tin",
              "Tũn", "Bòn Bon", "Cu Tí", "Bé Na", "Đậu", "Chíp", "Bo")

LOWLAND_VILLAGES = ("Thôn Đông", "Thôn Đoài", "Thôn Thượng", "Thôn Hạ", "Thôn Trung",
                    "Thôn Bắc", "Thôn Nam", "Xóm Mới", "Xóm Chùa", "Thôn An Lạc",
                    "Thôn Phú Mỹ", "Thôn Tân Lập", "Thôn Hòa Bình", "Thôn Quyết Tiến",
                    "Xóm Đình", "Thôn Văn Phú")
MOUNTAIN_VILLAGES = ("Bản Nà Lượng", "Bản Pá Khoang", "Bản Huổi Só", "Bản Tả Phìn",
                     "Bản Sín Chải", "Bản Phiêng Luông", "Bản Nậm Cang", "Bản Lao Chải",
                     "Bản Háng Tày", "Bản Cò Chạy", "Bản Mường Báng", "Bản Ta Gia")
COMMUNE_WORDS = ("Hòa", "Phú", "Tân", "An", "Đông", "Xuân", "Thanh", "Hưng", "Yên", "Quang",
                 "Thịnh", "Lộc", "Minh", "Bình", "Trung", "Nghĩa", "Thuận", "Hồng")

# Provinces a child's birth may have been registered in, besides the home province (people
# working away give birth where they work): Hà Nội, Bắc Ninh, Hải Phòng, Đà Nẵng, Bình Dương,
# Đồng Nai, TP Hồ Chí Minh. Codes per Circular 07/2016/TT-BCA, Appendix 1.
WORK_PROVINCES = ("001", "027", "031", "048", "074", "075", "079")
