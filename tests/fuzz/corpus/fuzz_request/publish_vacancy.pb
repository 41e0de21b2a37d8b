
pub-1RW
PW-2025-0142"haarlem*
BU039201012	complex-1:Kruisstraat 12 zwart@H0PТоXbщ