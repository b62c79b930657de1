// The Android application: one activity, Compose + Material 3 screens that render the shell's
// presenters, WorkManager workers, the platform implementations of the shell's interfaces.
plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

android {
    namespace = "org.gridpatrol.app"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.gridpatrol.app"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
        // Chinese first: the default resources are zh-CN, values-en/ is English.
        resourceConfigurations += listOf("zh-rCN", "en")
    }
    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    packaging {
        // Keep the .so files uncompressed and page-aligned in the APK (16 KB pages, Android 15+).
        jniLibs.useLegacyPackaging = false
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    buildFeatures { compose = true }
}
kotlin { jvmToolchain(17) }

dependencies {
    implementation(project(":shell"))
    implementation(project(":bindings"))
    implementation(libs.kotlinx.coroutines.android)
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.activity.compose)
    implementation(platform(libs.androidx.compose.bom))
    implementation(libs.androidx.compose.ui)
    implementation(libs.androidx.compose.ui.tooling.preview)
    implementation(libs.androidx.compose.material3)
    implementation(libs.androidx.lifecycle.runtime.compose)
    implementation(libs.androidx.lifecycle.viewmodel.compose)
    implementation(libs.androidx.lifecycle.process)
    implementation(libs.androidx.work.runtime.ktx)
    implementation(libs.play.services.location)
    implementation(libs.zxing.android.embedded)
}

// The Rust library for each ABI, 16 KB-aligned (README.md, "Packaging the Rust library").
val cargoNdk by tasks.registering(Exec::class) {
    group = "rust"
    description = "cargo ndk: libgridpatrol_ffi.so for arm64-v8a, armeabi-v7a, x86_64"
    workingDir = rootDir.resolve("..")
    environment("RUSTFLAGS", "-C link-arg=-Wl,-z,max-page-size=16384 -C strip=debuginfo")
    commandLine(
        "cargo", "ndk", "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64", "-P", "26",
        "-o", "build/android/jniLibs", "build", "-p", "gridpatrol-ffi", "--release",
    )
}
