
matching:zkij:18matching"zkijºñ
z
PW-2025-0142	pre-wonenzkij"haarlem*
BU039201012	complex-1:Kruisstraat 12 zwart@H0PÂÞXbéhrPW-2025-0142/1s"

region"
rent*urgency date, then fit, then id20kam-0012 waited longest of 3 eligible candidates:test.1