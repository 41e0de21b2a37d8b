
ans-2zL
PW-2025-0142/1:Te ver van de dagbesteding; cliënt wil in Haarlem blijven