proposalƒ
matching:zkij:17€Ðß´«3matching"zkij¢Ö
×
PW-2025-0142/1PW-2025-0142kam-0012"zkij*	pre-wonen2ribw-kam:haarlem@H€Ðß´«3P°ºá´«3Zw"

region"
rent*urgency date, then fit, then id20kam-0012 waited longest of 3 eligible candidates:test.1hz
PW-2025-0142	pre-wonenzkij"haarlem*
BU039201012	complex-1:Kruisstraat 12 zwart@H0PÂÞXbéhrPW-2025-0142/1